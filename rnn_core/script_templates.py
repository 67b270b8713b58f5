"""The pieces of an exported training script (``rnn_core.export_script`` assembles them).

Each piece is a ``string.Template`` of plain Python that needs only torch: one per task
(its batch generator and loss), one per model part (the network, each initialisation
recipe, each optimiser), and the header and training loop every script shares. A piece
holds only the code of its own choice, so a script has no branch for another task or
model. Every piece restates, as readable code, what the engine does for that choice
(``rnn_core/tasks/``, ``rnn_core/models.py``, ``rnn_core/recurrent_layers.py``,
``rnn_core/train.py``): tests/test_export_script.py runs each script and checks that its
losses are the Trainer's, so a change on either side that drifts apart fails there.
"""

from __future__ import annotations

from string import Template

HEADER = Template('''\
"""$summary

Exported from RNN Explorer: a standalone PyTorch script ($needs, not the
app) with the same data generator, model, initialisation, optimiser, clipping and seed
as the app's run, so it reproduces the app's loss curve step for step (exported with
torch $torch_version and one torch thread, as the app trains; another torch version or
thread count may differ in the last digits, then more as training goes on).

Run it:

    python $file_name                      # $default_steps steps, prints the loss
    python $file_name --steps 200 --csv losses.csv
    python $file_name --save weights.pt    # keep the trained state_dict
$data_usage
    # start from the weights the app lets you download ("Weights (state_dict .pt)");
    # the optimiser starts afresh, so from there the curve is not the app's
    python $file_name --weights rnn-explorer-weights.pt

The same run in the app (its settings as URL query parameters):
    ?$query
"""

$imports
''')
STDLIB_IMPORTS = ("argparse", "csv", "math")
TORCH_IMPORTS = "import torch\nimport torch.nn.functional as F\nfrom torch import nn"


def imports(stdlib: tuple[str, ...], third_party: tuple[str, ...]) -> str:
    """The script's import block, sorted as isort sorts it (``third_party``: whole
    ``import x as y`` lines that sort before torch's)."""
    modules = sorted({*STDLIB_IMPORTS, *stdlib})
    lines = "\n".join(f"import {name}" for name in modules)
    return lines + "\n\n" + "".join(line + "\n" for line in sorted(third_party)) + TORCH_IMPORTS


SETTINGS = Template("""
# ---------------------------------------------------------------------- the run's settings
SEQ_LEN = $seq_len  # T$seq_len_note
BATCH_SIZE = $batch_size
HIDDEN_SIZE = $hidden_size
NUM_LAYERS = $num_layers
LEARNING_RATE = $learning_rate
MAX_GRAD_NORM = $max_grad_norm
SEED = $seed  # the initial weights are drawn from a generator seeded with SEED
DATA_SEED = SEED + $data_stream  # the app's data stream: one generator for every batch
BASELINE_LOSS = $baseline  # the loss of the best prediction that ignores the input
""")

CLIP_NOTE = "  # gradient clipping: the gradient's norm is scaled down to at most this"
NO_CLIP_NOTE = "  # no clipping: an infinite bound only measures the gradient's norm"

# ---------------------------------------------------------------------------------- tasks
TASK_ADDING = Template('''
# ---------------------------------------------------------------------- the task
# The adding problem: each step shows a random value in [0, 1] and a marker that is 1
# at exactly two steps. After the last step the network must output the sum of the two
# marked values (MSE). Predicting the mean sum, 1, scores BASELINE_LOSS = 1/6.
INPUT_SIZE = 2
OUTPUT_SIZE = 1


def sample_batch(generator):
    """One training batch: x (B, T, 2) values and markers, y (B, 1) the sums."""
    values = torch.rand(BATCH_SIZE, SEQ_LEN, generator=generator)
    # A uniform ordered pair of distinct positions: the second is drawn from the T - 1
    # slots left after the first, skipping over the first.
    first = torch.randint(0, SEQ_LEN, (BATCH_SIZE,), generator=generator)
    second = torch.randint(0, SEQ_LEN - 1, (BATCH_SIZE,), generator=generator)
    second += (second >= first).long()
    markers = torch.zeros(BATCH_SIZE, SEQ_LEN)
    rows = torch.arange(BATCH_SIZE)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)  # (B, T, 2)
    y = (values * markers).sum(dim=1, keepdim=True)  # (B, 1)
    return x, y


def loss_fn(outputs, y):
    """Mean squared error of the output at the last step."""
    return F.mse_loss(outputs[:, -1, 0], y[:, 0])
''')

TASK_COPY_MEMORY = Template('''
# ---------------------------------------------------------------------- the task
# Copy memory (Bai et al. 2018): $n_digits random digits from 1 to 8, then T - 1 blanks (0),
# then a 9 (recall now) and $n_digits more 9s. The network outputs a blank at every step
# but the last $n_digits, where it repeats the digits in order (cross-entropy at every step).
N_DIGITS = $n_digits
N_SYMBOLS = $n_symbols  # 0 blank, 1..8 digits, 9 delimiter and recall cue
INPUT_SIZE = N_SYMBOLS
OUTPUT_SIZE = N_SYMBOLS
TOTAL_LEN = SEQ_LEN + 2 * N_DIGITS  # steps of x and of the outputs


def sample_batch(generator):
    """One training batch: x (B, T + 20, 10) one-hot symbols, y (B, T + 20) targets."""
    digits = torch.randint(1, 9, (BATCH_SIZE, N_DIGITS), generator=generator)
    symbols = torch.zeros(BATCH_SIZE, TOTAL_LEN, dtype=torch.long)
    symbols[:, :N_DIGITS] = digits
    symbols[:, SEQ_LEN + N_DIGITS - 1 :] = 9  # the delimiter, then one cue per digit
    y = torch.zeros_like(symbols)
    y[:, -N_DIGITS:] = digits
    return F.one_hot(symbols, N_SYMBOLS).to(torch.float32), y


def loss_fn(outputs, y):
    """Mean cross-entropy over every step of every sequence."""
    return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), y.reshape(-1))
''')

TASK_PARITY = Template('''
# ---------------------------------------------------------------------- the task
# Running parity: a stream of random bits; at every step the network outputs the parity
# of all bits so far (cross-entropy at every step). Without memory: ln 2.
INPUT_SIZE = 2
OUTPUT_SIZE = 2


def sample_batch(generator):
    """One training batch: x (B, T, 2) one-hot bits, y (B, T) running parities."""
    bits = torch.randint(0, 2, (BATCH_SIZE, SEQ_LEN), generator=generator)
    return F.one_hot(bits, 2).to(torch.float32), bits.cumsum(dim=1) % 2


def loss_fn(outputs, y):
    """Mean cross-entropy over every step of every sequence."""
    return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), y.reshape(-1))
''')

TASK_SINE = Template('''
# ---------------------------------------------------------------------- the task
# Waveform forecasting: each sequence is the sum of $n_components sine waves, each with its
# own random frequency, amplitude and phase, plus noise; at every step the network sees
# the current value and predicts the next one (MSE at every step).
INPUT_SIZE = 1
OUTPUT_SIZE = 1
N_COMPONENTS = $n_components
FREQ_RANGE = $freq_range  # cycles per step
AMP_RANGE = $amp_range
NOISE_STD = $noise_std


def uniform(shape, low, high, generator):
    return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)


def sample_batch(generator):
    """One training batch: x (B, T, 1) the series, y (B, T, 1) the next values."""
    shape = (BATCH_SIZE, 1, N_COMPONENTS)
    # float64 keeps the phase exact over long sequences; the batch is float32 at the end
    freq = uniform(shape, *FREQ_RANGE, generator)
    amp = uniform(shape, *AMP_RANGE, generator)
    phase = uniform(shape, 0.0, 2 * math.pi, generator)
    t = torch.arange(SEQ_LEN + 1, dtype=torch.float64)[None, :, None]
    clean = (amp * torch.sin(2 * math.pi * freq * t + phase)).sum(dim=-1)  # (B, T + 1)
    noise = torch.randn(clean.shape, generator=generator, dtype=torch.float64)
    series = (clean + NOISE_STD * noise).to(torch.float32)[..., None]
    return series[:, :-1], series[:, 1:]


def loss_fn(outputs, y):
    """Mean squared error of the forecast at every step."""
    return F.mse_loss(outputs, y)
''')

# ---------------------------------------------------------------------------------- model
MODEL = Template('''
# ---------------------------------------------------------------------- the model
class Model(nn.Module):
    """$title: a fused stack of NUM_LAYERS layers and a linear read-out at every step,
    (B, T, INPUT_SIZE) -> (B, T, OUTPUT_SIZE). The parameter names are the app's, so a
    state_dict downloaded from the app loads into it."""

    def __init__(self):
        super().__init__()
        self.rnn = $layer
        self.head = nn.Linear(HIDDEN_SIZE, OUTPUT_SIZE)

    def forward(self, x):
        hidden, _ = self.rnn(x)  # (B, T, H): the last layer's state at every step
        return self.head(hidden)  # (B, T, OUTPUT_SIZE)
''')

LAYERS = {
    "rnn_tanh": "nn.RNN(INPUT_SIZE, HIDDEN_SIZE, num_layers=NUM_LAYERS, batch_first=True)",
    "rnn_relu": (
        "nn.RNN(\n            INPUT_SIZE, HIDDEN_SIZE, num_layers=NUM_LAYERS, "
        'nonlinearity="relu", batch_first=True\n        )'
    ),
    "lstm": "nn.LSTM(INPUT_SIZE, HIDDEN_SIZE, num_layers=NUM_LAYERS, batch_first=True)",
    "gru": "nn.GRU(INPUT_SIZE, HIDDEN_SIZE, num_layers=NUM_LAYERS, batch_first=True)",
}

# The gate blocks stacked in weight_hh, in torch's order (rnn_core/recurrent_layers.py).
GATE_COMMENTS = {
    "rnn_tanh": "one H x H block",
    "rnn_relu": "one H x H block",
    "lstm": "the input, forget, cell and output gates' H x H blocks",
    "gru": "the reset, update and new gates' H x H blocks",
}

INIT_DOC = (
    "Every weight and bias from ``generator``, in the order the app draws them: first "
    "torch's own recipe, U(-1/sqrt(H), 1/sqrt(H)), for every parameter (the recurrent "
    "layers' then the read-out's)."
)

INIT = Template('''
@torch.no_grad()
def initialise(model, generator):
    """$doc"""
    bound = 1 / math.sqrt(HIDDEN_SIZE)
    for p in model.parameters():
        p.uniform_(-bound, bound, generator=generator)
$recipe''')

BLOCKS = Template('''

GATES = $gates  # weight_hh_l{k} stacks $gate_comment


def recurrent_blocks(model, layer):
    """The H x H recurrent matrices of one layer (views into its weight_hh)."""
    return getattr(model.rnn, f"weight_hh_l{layer}").chunk(GATES, dim=0)
''')

ORTHOGONAL_HELPER = '''

def random_orthogonal(n, generator):
    """A uniformly random orthogonal n x n matrix (QR of a Gaussian, signs fixed)."""
    a = torch.randn(n, n, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    return (q * torch.sign(torch.diagonal(r))).float()
'''

RECIPE_DOC = {
    "orthogonal": (
        " Then each layer's biases are set to zero and each gate's recurrent block to a "
        "random orthogonal matrix."
    ),
    "identity": (
        " Then the IRNN recipe (Le, Jaitly & Hinton 2015): each layer's biases zero and "
        "each gate's recurrent block the identity; input weights keep the uniform draw."
    ),
    "scale": " Then each recurrent block is rescaled to spectral radius RECURRENT_SCALE.",
}

RECIPE_BLOCKS = Template("""\
    for layer in range(NUM_LAYERS):
        getattr(model.rnn, f"bias_ih_l{layer}").zero_()
        getattr(model.rnn, f"bias_hh_l{layer}").zero_()
        for block in recurrent_blocks(model, layer):
            block.copy_($block_value)
""")

RECIPE_SCALE = """\
    for layer in range(NUM_LAYERS):
        for block in recurrent_blocks(model, layer):
            rho = float(torch.linalg.eigvals(block.double()).abs().max())  # spectral radius
            if rho > 0:
                block.mul_(RECURRENT_SCALE / rho)
"""

OPTIMIZERS = {
    "adam": "torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)",
    "sgd": "torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.9)",
    "rmsprop": "torch.optim.RMSprop(model.parameters(), lr=LEARNING_RATE)",
}

# The parts of the header and of the training loop that differ for a task on a data file
# (substituted into HEADER and TRAIN; empty for a task whose batches are generated).
GENERATED_DATA = {
    "needs": "it needs only torch",
    "data_usage": "",
    "imports": imports((), ()),
    "data_param": "",
    "load_data": "",
    "sample_args": "data_generator",
    "data_option": "",
    "data_check": "",
    "data_arg": "",
}


IN_CHECKOUT = (
    "it reads the app's data file: run it from the top folder of a checkout of",
    "RNN Explorer, or say where the file is",
)
IN_PLOTLY = (
    "it reads the prices that ship with plotly (plotly.data.stocks) where plotly is",
    "installed, without importing it; without plotly, say where the file is",
)


def file_data(
    needs: str, stdlib: tuple[str, ...], third_party: tuple[str, ...], file_name: str, where: tuple
) -> dict[str, str]:
    """HEADER's and TRAIN's substitutions for a task whose data is read from a file
    (``where``: two comment lines on where the file is found)."""
    return {
        "needs": needs,
        "data_usage": (
            f"\n    # {where[0]}\n    # {where[1]}\n"
            f"    python {file_name} --data path/to/the/file\n"
        ),
        "imports": imports(("os", *stdlib), third_party),
        "data_param": ", data_path=DATA_PATH",
        "load_data": "    data = load_data(data_path)  # the training split, read once\n",
        "sample_args": "data, data_generator",
        "data_option": (
            '    parser.add_argument("--data", default=DATA_PATH, help="the task\'s data file")\n'
        ),
        "data_check": (
            "    if not os.path.isfile(args.data):\n"
            '        parser.error(f"no data file at {args.data}: pass --data PATH")\n'
        ),
        "data_arg": ", args.data",
    }


# ---------------------------------------------------------------------------- training
TRAIN = Template('''
# ---------------------------------------------------------------------- training
def train(steps, csv_path=None, weights=None, save=None, print_every=10$data_param):
    """Train for ``steps`` optimiser steps, printing the loss; returns [(step, loss,
    grad_norm), ...]. Stops early, as the app does, when the loss, the gradient or a
    weight stops being finite (exploding gradients)."""
    # The app trains each run on one intra-op thread; the thread count changes how sums
    # are split, and so the last digits of every loss.
    torch.set_num_threads(1)
    # The app treats subnormal floats as zero while training (vanishing gradients pass
    # through them and CPU arithmetic on them is many times slower); so does this script.
    torch.set_flush_denormal(True)
$load_data    model = Model()
    initialise(model, torch.Generator().manual_seed(SEED))
    if weights is not None:
        # weights_only: a .pt file is read as tensors, never as code
        model.load_state_dict(torch.load(weights, weights_only=True, map_location="cpu"))
    optimizer = $optimizer
    data_generator = torch.Generator().manual_seed(DATA_SEED)
    rows = []
    for step in range(1, steps + 1):
        x, y = sample_batch($sample_args)
        outputs = model(x)
        loss = loss_fn(outputs, y)
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            rows.append((step, loss_value, math.nan))
            print(f"step {step}: the loss became {loss_value}: training diverged, stopping")
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM))
        rows.append((step, loss_value, grad_norm))
        if step % print_every == 0 or step == 1:
            print(f"step {step:6d}  loss {loss_value:.6f}  (baseline {BASELINE_LOSS:.4f})")
        if not math.isfinite(grad_norm):
            print(f"step {step}: the gradient norm became {grad_norm}: diverged, stopping")
            break
        optimizer.step()
        if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            print(f"step {step}: a weight became non-finite: diverged, stopping")
            break
    if csv_path is not None:
        with open(csv_path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["step", "loss", "grad_norm"])
            writer.writerows((step, repr(loss), repr(norm)) for step, loss, norm in rows)
    if save is not None:
        torch.save(model.state_dict(), save)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=$default_steps, help="optimiser steps")
    parser.add_argument("--csv", help="write step, loss and gradient norm to this CSV file")
    parser.add_argument("--weights", help="start from this state_dict (.pt) file")
    parser.add_argument("--save", help="save the trained state_dict to this .pt file")
    parser.add_argument("--print-every", type=int, default=10, help="print every k steps")
$data_option    args = parser.parse_args()
$data_check    train(args.steps, args.csv, args.weights, args.save, args.print_every$data_arg)
''')
