"""Running a network: backends (torch, ncnn), the one choice of backend and tile per job (`select`), the
measurements behind it (`calibrate`), tiling, progress inside a pass, and what this machine is."""
