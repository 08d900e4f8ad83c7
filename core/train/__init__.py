"""Training and fine-tuning on the CPU, live (no Streamlit; progress only through `on_event`):

- `engine`: `train(images, config, on_event, checkpoint_dir=, resume=)` → `TrainResult`; `check()`; the events
- `presets`: runs that fit a lesson, as one table; `config(name, **changes)`
- `config`: `TrainConfig` (one value per run) and `TrainError` (one line per refusal)
- `data`: clean images → degraded training pairs, the validation split; `builtin_images()`
- `models`: the from-scratch compact CNN and fine-tunable copies of catalogue networks (what trains, what is frozen)
- `losses`: L1 / MSE, perceptual (VGG16 of LPIPS), adversarial
- `save`: the result as `.safetensors` + a JSON card, loadable as a user model; checkpoints

The package imports nothing itself, so `python -m core` stays quick for the other commands.
"""
