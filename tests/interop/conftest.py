"""tests/interop holds programs and a runner for ``make interop``, not pytest tests: they
need TensorFlow (in ``.venv-tf``) and live workers. Nothing here is collected."""

collect_ignore_glob = ["*"]
