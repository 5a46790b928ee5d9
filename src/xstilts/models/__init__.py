"""Pretrained encoders: loading a model source (`sources`), the bundled mE5-small conversion
(`e5_convert`) and XLM-R tokenizer files (`presets`). Imports nothing itself: `xstilts.config` may
import this package's torch-free parts without loading torch."""
