"""Where weights come from: `resolve` (installed packages' ncnn files, converted and checked; a user's official
`.pth`), `ncnn_reader` (ncnn files back into tensors) and `fetch` (weights no registry ships, on request)."""
