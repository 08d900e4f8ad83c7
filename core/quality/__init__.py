"""Measuring results: the measures as data (`metrics`), scoring a set of methods on one input (`scoring`),
making a test pair by degrading a clean image (`degrade`), and folders of images (`bench`)."""
