"""Which stored notebook outputs a fresh run may not reproduce digit for digit, and why.

This is the one place that lists them. Every other stored output of the book must come out the
same on every machine: at every SIMD level NumPy dispatches to (tests/test_simd_levels.py), on
other CPUs and BLAS libraries, and in the reader's browser, a 32-bit wasm32 Python
(tests/test_lite_browser.py). Round-off-sized quantities are therefore printed as the bound
they meet, or asserted, never digit by digit.

A cell listed here carries nbval's ``nbval-ignore-output`` tag (nbval runs it and checks that
it raises nothing, but does not compare its output); its code asserts the claims the text
makes, so those are checked everywhere. tests/test_output_rules.py holds the tags and this list
equal, so that no cell is exempted without a reason written here.
"""

from __future__ import annotations

TRAINED = (
    "computed from a network trained for 40 epochs in float32: the BLAS library's rounding "
    "differs between machines (and between SIMD kernels), and training amplifies the last "
    "bits into different losses, accuracies and weights"
)

# (notebook, cell id) -> why its output may differ from the stored one
MACHINE_DEPENDENT: dict[tuple[str, str], str] = {
    ("book/cnn_digits.ipynb", "c07"): "the training log: " + TRAINED,
    ("book/cnn_digits.ipynb", "c09"): "the test accuracy: " + TRAINED,
    ("book/cnn_digits.ipynb", "c17"): "tie shares of the trained network: " + TRAINED,
    ("book/cnn_digits.ipynb", "91c996f6"): "receptive fields of the trained ties: " + TRAINED,
    ("book/cnn_digits.ipynb", "c21"): "gradient differences in the trained network: " + TRAINED,
    ("book/cnn_digits.ipynb", "953acdfc"): (
        "float32 gradient norms of freshly initialised networks, through float32 matrix "
        "products whose rounding depends on the BLAS library's kernels"
    ),
    ("book/cnn_digits.ipynb", "4566ec72"): "three log-sum-exp networks' training: " + TRAINED,
}
