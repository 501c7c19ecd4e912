"""The misconceptions the checkers can name: the shared table, which each checker module extends
with its own entries (``MISCONCEPTIONS.update``)."""

from __future__ import annotations

# Misconceptions: a key, how to say it, and a hint. Tests and notebooks refer to the keys.
#: The mistakes the checkers can name: key -> (what the code did, a hint for fixing it).
MISCONCEPTIONS = {
    "crashed": (
        "your function raised an exception",
        "run it on the case shown and read the traceback",
    ),
    "not_numbers": (
        "the result is not numbers",
        "return the numbers themselves (an int, a list of numbers or a NumPy array), not "
        "strings or None: a function that ends without a return statement returns None",
    ),
    "opposite_sign": (
        "the result has the opposite sign",
        "a gradient is the derivative of the loss itself, with no minus sign: the minus belongs "
        "to the update step (w -= lr * grad), not to the backward pass",
    ),
    "shape": (
        "the result has the wrong shape",
        "a gradient always has the shape of the thing it is the gradient of",
    ),
    # a key of its own, apart from "shape": the hint that fits is about the count, and a
    # checker's own shape hint must not replace it (the diagnosis writes the exact count)
    "result_count": (
        "the wrong number of results",
        "return as many results as the exercise asks for, in its order",
    ),
    "empty_crop": (
        "the result is empty along a dimension",
        "a crop such as grad[p:-p] is empty when p is 0, because -0 is 0 and the slice stops "
        "before it starts: crop with grad[p : p + H, p : p + W] (H, W the input's size)",
    ),
    "dtype": (
        "the result has the wrong dtype",
        "a float32 input must give a float32 result, but something in your computation is "
        "float64: an array made without a dtype (np.zeros(shape) or np.ones(shape); use "
        "np.zeros_like(x) or dtype=x.dtype), or a mask cast with .astype(float) (multiply by "
        "the boolean mask itself, or cast with .astype(x.dtype))",
    ),
    "mask_returned": (
        "the result is a boolean mask, not a gradient",
        "the mask says where the gradient passes; the gradient itself must come through: "
        "multiply the mask by the gradients that arrive (grad_output, grad, or the deltas), "
        "as in grad_output * mask",
    ),
    "mutated": (
        "your function changed its input array",
        "work on a copy (x.copy()) or a new array; the caller still needs its data",
    ),
    "relu_swapped": (
        "x and grad_output were used the other way round",
        "the exercise passes (x, grad_output); pooling_lab.functional.relu_backward takes "
        "(grad_output, input), the gradient first, as PyTorch's backward functions do: if you "
        "call it, call relu_backward(grad_output, x)",
    ),
    "off_by_one": (
        "the output size is off by one",
        "the number of windows is "
        "floor((L + 2p - d(k-1) - 1) / s) + 1: count window *starts*, not ends",
    ),
    "no_dilation": (
        "the output size ignores dilation",
        "a dilated window reaches d*(k-1)+1 elements, not k",
    ),
    "ceil_no_drop": (
        "ceil_mode keeps a window that starts in the right padding",
        "PyTorch drops the last window unless it starts inside the input or the left padding",
    ),
    "same_dimension": (
        "the output's rows and columns were both counted from one of the input's sizes",
        "the plane need not be square: count the output rows from x.shape[0] (the height) and "
        "the columns from x.shape[1] (the width)",
    ),
    "extra_window": (
        "one window too many: the last one runs past the padded input",
        "the number of windows is floor((H + 2p - k) / s) + 1; a window that would end past "
        "the padded input is not a window (its slice comes out short, or empty)",
    ),
    "ceil_always_adds": (
        "ceil_mode added a window although the windows fit exactly",
        "ceil_mode rounds (L + 2p - d(k-1) - 1) / s up: when s divides it there is no partial "
        "window to add, and the count is the same as without ceil_mode; round up with "
        "-(-span // s) (or math.ceil), not span // s + 1",
    ),
    "ceil_dropped_inside": (
        "with ceil_mode the count is one short: a last, partial window that starts inside the "
        "input was lost",
        "with ceil_mode=True the count rounds up, ceil((L + 2p - d(k-1) - 1) / s) + 1 (rounding "
        "down, as without ceil_mode, or to the nearest loses the partial window), and the last "
        "window may hang over the end of the padded input: PyTorch keeps it when it starts "
        "inside the input or the left padding, and drops it only when its start (n-1)*s in the "
        "padded input is at or after L + p",
    ),
    "ceil_drop_at_L": (
        "ceil_mode drops a window that starts inside the input",
        "in the padded input the real elements sit at positions p to L + p - 1, so the last "
        "window goes only if it starts at or after L + p (in the right padding): compare its "
        "start (n-1)*s with L + p, not with L",
    ),
    "zero_padding": (
        "padding was filled with zeros",
        "max pooling pads with -inf: with zeros, a "
        "window of negative numbers would report 0, a value that is not in the input",
    ),
    "spread": (
        "every element of the window received gradient",
        "only the maximum influences the output; the other elements' partial derivatives are 0",
    ),
    "averaged": (
        "the gradient was shared equally over the window",
        "that is average pooling's backward; max pooling sends the whole gradient to the winner",
    ),
    "all_ties": (
        "every tied maximum received the full gradient",
        "with t tied maxima that counts the window's gradient t times (its total grows); "
        "pick one winner, the first in row-major order, as PyTorch's max pooling does (its CPU "
        "kernels, measured with torch 2.13)",
    ),
    "last_tie": (
        "ties went to the last maximum instead of the first",
        "that is a valid subgradient, but PyTorch's convention (and ours) is the first "
        "maximum in row-major window order: when you scan a window, replace the best so far "
        "only on a strictly larger value (>, not >=), or use np.argmax, which returns the "
        "first maximum",
    ),
    "overwrite": (
        "overlapping windows overwrote each other's gradient",
        "an input that two windows send gradient to (in max pooling: it won both; in average "
        "pooling: it lies in both) influences both outputs, so it must receive the sum of "
        "their gradients. If you assigned (grad[r, c] = g), add (+=) instead. If you wrote "
        "a vectorised grad[rows, cols] += g (or grad[idx] += g), that is the same bug: "
        "NumPy's fancy-indexed += is buffered, so a repeated index is written once, not "
        "added; use np.add.at(grad, (rows, cols), g) or np.bincount",
    ),
    "activation": (
        "the winners' gradient was multiplied by an extra factor that depends on the input, "
        "such as an activation derivative (ReLU's mask, tanh'(x) = 1 - tanh(x)**2)",
        "max "
        "pooling's derivative already is the 0/1 routing; a nonlinearity before the "
        "pool applies its own derivative in its own backward pass",
    ),
    "no_grad_output": (
        "the result does not depend on grad_output: it is the winners' mask (or their shares), "
        "not the routed gradient",
        "each window sends its own gradient, grad_output[i, j], to its winner(s): multiply "
        "the window's 1 (or its shares) by grad_output[i, j] before adding it in",
    ),
    "to_loser": (
        "the gradient went to the smaller input",
        "the derivative of max(a, b) with respect to a is 1 when a wins and 0 when it loses; "
        "or the two came back in the wrong order: return (grad_a, grad_b)",
    ),
    "relu_negative": (
        "gradient passed through inputs that are not positive",
        "ReLU's output does not change when a negative input moves a little: its slope there is 0",
    ),
    "relu_at_zero": (
        "at x == 0 the gradient was passed through (slope 1)",
        "x == 0 is ReLU's kink, where any slope in [0, 1] is valid; the exercise asks for "
        "PyTorch's convention, slope 0: test x > 0, not x >= 0",
    ),
    "python_bool_not": (
        "~ was applied to a Python bool, which negates it as an integer (~True == -2)",
        "with plain numbers, a >= b is a Python bool, and ~ on it is not logical not: build the "
        "mask with np.greater_equal(a, b), which is a NumPy bool for numbers too, or use "
        "1 - mask or np.logical_not(mask)",
    ),
    "relu_half": (
        "at x == 0 the gradient was halved (slope 1/2)",
        "1/2 at x == 0 is a valid subgradient, and it is what central differences return at "
        "the kink, but the exercise asks for PyTorch's convention, slope 0: test x > 0",
    ),
    "relu_value": (
        "the result is scaled by the input or output value",
        "ReLU's slope is 1 for "
        "positive inputs, whatever their size: pass grad_output through unchanged",
    ),
    "not_split": (
        "tied maxima did not share the gradient",
        "in the split rule each of the t tied winners gets grad / t",
    ),
    "batch_mean": (
        "grad_W and grad_b were divided by the batch size",
        "the layer's gradient is the sum of the rows' contributions (x.T @ grad_y and "
        "grad_y.sum(axis=0)); if the loss is a mean over the batch, its 1/N is already in "
        "grad_y, so dividing again counts it twice",
    ),
    "split_tie": (
        "on a tie the gradient was split 1/2 and 1/2 between a and b",
        "that is a valid subgradient (torch.maximum's rule), but this exercise asks for the "
        "first: give the whole gradient to a when a == b (a >= b), and nothing to b",
    ),
    "split_in_window": (
        "tied maxima shared the window's gradient (the split rule)",
        "sharing is a valid subgradient, the split rule of the chapter on ties, but this "
        "exercise asks for PyTorch's: the whole gradient to the first maximum in row-major "
        "window order (when you scan the window, replace the best so far only on a strictly "
        "larger value, or use np.argmax)",
    ),
    "relu_tests_grad": (
        "the gradient was zeroed where grad_output is negative, not where x is",
        "test x (the forward input), not grad_output: ReLU passes grad_output through "
        "unchanged, negative or not, wherever x > 0, and blocks it wherever x <= 0",
    ),
    "stride_ignored": (
        "the windows moved by kernel_size instead of stride",
        "consecutive windows start stride apart, not kernel_size apart: with stride < "
        "kernel_size they overlap. Use s in the window count, floor((L + 2p - k) / s) + 1, "
        "and in the window start, i * s",
    ),
    "no_pad_offset": (
        "the windows were not shifted by the padding",
        "with padding p, window i covers input positions i*s - p to i*s - p + k - 1: pad x "
        "with -inf first and slice the padded array at i*s, or subtract p from the start "
        "when you slice x itself (and clip at the borders)",
    ),
    "window_offset": (
        "window (i, j) was taken at row i, column j instead of row i*s, column j*s",
        "output (i, j)'s window starts s*i rows and s*j columns into the input: slice "
        "x[i*s : i*s + k, j*s : j*s + k], and add its gradient at the winner's position "
        "inside that slice plus (i*s, j*s)",
    ),
    "no_batch_sum": (
        "grad_b was not summed over the batch",
        "b is added to every row, so its gradient is the sum of grad_y over rows",
    ),
    "transposed": (
        "grad_W is transposed",
        "grad_W must have W's shape (D, M): x.T @ grad_y. (PyTorch's Linear.weight is stored "
        "(out, in), the transpose of this W, which is why its gradient is grad_y.T @ x there)",
    ),
    "outer_of_sums": (
        "grad_W is the outer product of the batch sums",
        "a product of sums is not a sum of products: each example n adds its own outer product "
        "of x[n] and grad_y[n] to grad_W, so sum those over the batch",
    ),
    "no_padding": (
        "the padding was ignored",
        "padding adds p positions on each side (filled with -inf for max pooling), and the "
        "windows slide over all L + 2p of them along each dimension of length L: there are "
        "floor((L + 2p - d(k-1) - 1) / s) + 1 windows",
    ),
    "tie_dropped": (
        "on a tie neither input received the gradient",
        "at a == b the output still moves with its inputs, so the whole gradient must go "
        "somewhere; the exercise gives it to a: make a's test true when a == b (a >= b)",
    ),
    "relu_sign": (
        "negative inputs received minus the gradient",
        "np.sign(x) is -1 for negative x, but ReLU is flat there: its slope is 0, not -1",
    ),
    "rounded_up": (
        "the output size was rounded up",
        "without ceil_mode a window must fit entirely in the padded input: the number of "
        "windows is floor((L + 2p - k) / s) + 1, so a partial window at the end is dropped",
    ),
    "not_divided": (
        "each input received the window's whole gradient",
        "the output is the window's sum divided by its divisor, so each input's share is "
        "grad / divisor",
    ),
    "pad_divisor": (
        "the divisor does not follow count_include_pad",
        "with count_include_pad=True every full window divides by k*k, padding included; "
        "with False it divides by the number of real (unpadded) inputs in the window",
    ),
    "lse_no_temperature": (
        "the softmax was taken of x instead of x / T",
        "d/dx of T log sum exp(x / T) is softmax(x / T): the temperature stays inside",
    ),
    "lse_extra_factor": (
        "the softmax was scaled by 1/T or T",
        "the outer factor T and the inner 1/T of the chain rule cancel: the gradient is "
        "exactly softmax(x / T), whose entries sum to 1",
    ),
    "lse_overflow": (
        "large inputs overflowed exp and produced nan or inf",
        "subtract the window's maximum before exp: softmax(v) = softmax(v - max v)",
    ),
    "max_routing": (
        "the whole gradient went to the window's maximum",
        "that is max pooling's one-hot routing, the T -> 0 limit; at T > 0 every element "
        "gets its softmax share",
    ),
}
