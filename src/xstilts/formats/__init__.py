"""The task formats, one module each: featurising, the head, decoding predictions into per-example
records. Registered, with what the rest of xstilts may know of them, in `xstilts.config.formats`."""
