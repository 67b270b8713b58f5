"""Task registry: every task by name, with its generator, loss, metric and baseline.

``TASKS`` maps a name to a task instance; the app's select boxes are built from its keys
(in this order), so adding a task is one class in its family's module and one entry
here. The modules, by family:

- ``base``: the ``Task`` interface and its contract (batches, splits, baselines), the
  lazy loading of bundled data, and helpers the families share.
- ``memory``: synthetic memory tasks (adding problem, copy memory, running parity).
- ``forecast``: next-step forecasting of a series (sine waves, Mauna Loa CO₂, stock
  prices, El Niño sea temperatures, an ECG with a labelled abnormal beat).
- ``text``: a character-level language model on Python source.
- ``images``: 8x8 handwritten digits read row by row or pixel by pixel.
- ``speech``: who is speaking, from the frames of one utterance (Japanese vowels).
- ``translation``: English number words to German, for an encoder-decoder.
- ``captions``: two bundled digits side by side, captioned by a CNN and a decoder.
- ``sentiment``: generated review sentences classified at their last word
  (``review_grammar`` makes them).
"""

from __future__ import annotations

from rnn_core.tasks.base import ASSETS_DIR, SPLITS, Task
from rnn_core.tasks.captions import CaptionsTask
from rnn_core.tasks.forecast import (
    CO2_PATH,
    ECG_PATH,
    ELNINO_PATH,
    CO2Task,
    ECGTask,
    ElNinoTask,
    SeriesTask,
    SineTask,
    StocksTask,
)
from rnn_core.tasks.images import DIGITS_PATH, DigitsPixelsTask, DigitsRowsTask
from rnn_core.tasks.memory import AddingTask, CopyMemoryTask, ParityTask
from rnn_core.tasks.sentiment import LEXICON_PATH, SentimentTask
from rnn_core.tasks.speech import VOWELS_PATH, SpeakersTask
from rnn_core.tasks.text import CORPUS_PATH, CharLMTask
from rnn_core.tasks.translation import TranslationTask

_DIGITS_ROWS = DigitsRowsTask()  # the captions task composes its images and split

TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        AddingTask(),
        CopyMemoryTask(),
        SineTask(),
        ParityTask(),
        CharLMTask(),
        CO2Task(),
        _DIGITS_ROWS,
        DigitsPixelsTask(),
        SpeakersTask(),
        StocksTask(),
        ElNinoTask(),
        ECGTask(),
        TranslationTask(),
        CaptionsTask(_DIGITS_ROWS),
        SentimentTask(),
    )
}


def get_task(name: str) -> Task:
    """The registered task `name`, with the list of valid names when it is unknown."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; choose from {list(TASKS)}") from None


__all__ = [
    "ASSETS_DIR",
    "CO2_PATH",
    "CORPUS_PATH",
    "DIGITS_PATH",
    "ECG_PATH",
    "ELNINO_PATH",
    "LEXICON_PATH",
    "SPLITS",
    "TASKS",
    "VOWELS_PATH",
    "AddingTask",
    "CaptionsTask",
    "CO2Task",
    "CharLMTask",
    "CopyMemoryTask",
    "DigitsPixelsTask",
    "DigitsRowsTask",
    "ECGTask",
    "ElNinoTask",
    "ParityTask",
    "SeriesTask",
    "SentimentTask",
    "SineTask",
    "SpeakersTask",
    "StocksTask",
    "Task",
    "TranslationTask",
    "get_task",
]
