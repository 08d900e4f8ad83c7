"""Images in and out: decoding and validation (`imageio`), result files with metadata (`output`), batches and
zip archives (`batch`), the built-in samples (`samples`)."""
