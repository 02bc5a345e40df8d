"""The NLU model's life outside the message path: its Rasa virtualenv, training, serving
and evaluation (``helpline nlu``, ``helpline run``, the benchmarks). Nothing here runs on
a worker's message; that is ``bot/nlu/``."""
