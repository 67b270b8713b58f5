"""Figure builders: numpy arrays in, ``plotly.graph_objects.Figure`` out.

No streamlit and no torch here: the pages pass arrays from ``Probe`` snapshots and
the training history, and render what comes back. The modules:

- ``look``: colours, colour ramps and the template-free styling every figure shares.
- ``encoding``: the compact encoding of arrays sent to the browser (payload budget,
  quantised codes and their colour-bar ticks, thinning).
- ``playback``: Play/Pause and the slider of animated figures.
- ``training``: training curves (the loss figure).
- ``sequence``: one probe sequence (inputs, targets, outputs).
- ``states``: hidden states and gates (animated heatmap, time-step bars, saturation,
  PCA trajectory).
- ``edits``: an edited probe sequence's states, and their difference from the original.
- ``gradients``: gradients through time and the recurrent weights' spectra.
- ``race``: the CNN vs RNN race page (race curves, saliency, attention, receptive
  field, memory-horizon sweep, digit readings, model colours).
- ``activation_text``: one unit's activation over a text, as HTML.
- ``speech``: one utterance's frames with the running speaker guess, the held-out
  confusion matrix, accuracy by frames heard.
- ``series``: a held-out forecast against the naive forecasts; anomaly flags and labels.
- ``sentiment``: the running sentiment of one sentence, beside a bag of words.
- ``uploads``: previews of a visitor's uploaded series and labels.

This module re-exports the builders and the colours, so ``viz.loss_figure(...)`` and
``viz.race_figure(...)`` need only ``from rnn_core import viz``.
"""

from rnn_core.viz.activation_text import activation_html
from rnn_core.viz.edits import difference_figure, edited_states_figure, image_figure
from rnn_core.viz.gradients import (
    GRAD_LABEL,
    carry_figure,
    grad_heatmap,
    grad_norm_figure,
    overlay_grad_norms,
    spectra_figure,
)
from rnn_core.viz.look import DIVERGING, FONT_SIZE, INK, PALETTE, SEQUENTIAL
from rnn_core.viz.race import (
    attention_figure,
    digit_readings_figure,
    model_colours,
    race_figure,
    receptive_field_figure,
    saliency_figure,
    sweep_figure,
)
from rnn_core.viz.sentiment import running_sentiment_figure
from rnn_core.viz.sequence import sequence_figure
from rnn_core.viz.series import anomaly_figure, forecast_figure
from rnn_core.viz.speech import accuracy_by_frames_figure, confusion_figure, utterance_figure
from rnn_core.viz.states import (
    animated_heatmap,
    gate_over_training,
    pca_trajectory,
    saturation_figure,
    signed_over_training,
    time_step_bars,
)
from rnn_core.viz.training import loss_figure
from rnn_core.viz.uploads import label_counts_figure, upload_series_figure

__all__ = [
    "DIVERGING",
    "FONT_SIZE",
    "GRAD_LABEL",
    "INK",
    "PALETTE",
    "SEQUENTIAL",
    "accuracy_by_frames_figure",
    "activation_html",
    "animated_heatmap",
    "anomaly_figure",
    "attention_figure",
    "carry_figure",
    "confusion_figure",
    "difference_figure",
    "digit_readings_figure",
    "edited_states_figure",
    "forecast_figure",
    "gate_over_training",
    "grad_heatmap",
    "image_figure",
    "grad_norm_figure",
    "label_counts_figure",
    "loss_figure",
    "model_colours",
    "overlay_grad_norms",
    "pca_trajectory",
    "race_figure",
    "receptive_field_figure",
    "running_sentiment_figure",
    "saliency_figure",
    "saturation_figure",
    "sequence_figure",
    "signed_over_training",
    "spectra_figure",
    "sweep_figure",
    "time_step_bars",
    "upload_series_figure",
    "utterance_figure",
]
