"""Clips through methods (core/io/video.py decodes and encodes them): every image method frame by frame through
the engine, video networks over the sequence (`processing`); per-frame scores and the flicker (`measures`); the
built-in pan with its true reference (`builtin`); one clip to files, resumable (`job`)."""
