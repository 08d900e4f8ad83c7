"""Serving many users: the job service (`jobs`), the shared results cache (`cache`), a Ray cluster
(`distributed`) and server-side timings (`timing`)."""
