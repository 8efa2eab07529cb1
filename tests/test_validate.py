"""Tests of helpers._validate: one rule for every argument check of the package.

A value of the wrong kind raises ``TypeError``, a value of the right kind out of range
``ValueError``; the message names the argument.
"""

import numpy as np
import pytest

from helpers import _validate as v


def test_valid_values_come_back_converted():
    assert v.validate_int(np.int64(3), "n", 1) == 3 and type(v.validate_int(3, "n", 1)) is int
    assert v.validate_int(5, "keep", 1, 5) == 5
    assert v.validate_seed(0) == 0 and v.validate_seed(None, allow_none=True) is None
    assert v.validate_real(np.float32(0.5), "p", 0, 1) == 0.5
    assert v.validate_real(1, "lr", 0, open_min=True) == 1.0
    assert v.validate_sizes(np.array([2, 3]), "n").dtype == float
    assert v.validate_sizes(4, "s") == 4.0
    assert v.validate_temperature(1) == 1.0 and v.validate_top_k(2, 4) == 2
    assert v.validate_top_p(1) == 1.0
    np.testing.assert_allclose(v.validate_weights([[1, 3], [2, 2]]), [[0.25, 0.75], [0.5, 0.5]])


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: v.validate_int(2.0, "n", 1), TypeError, r"n must be an integer, got 2\.0 \(float\)"),
    (lambda: v.validate_int(True, "n", 1), TypeError, "n must be an integer"),
    (lambda: v.validate_int(0, "n", 1), ValueError, "n must be >= 1, got 0"),
    (lambda: v.validate_int(-1, "m", 0), ValueError, "m must be nonnegative"),
    (lambda: v.validate_int(9, "keep", 1, 8, hint="Fix it."), ValueError,
     r"keep must be an integer in \[1, 8\], got 9\. Fix it\."),
    (lambda: v.validate_seed(1.5), TypeError, "seed must be a non-negative integer"),
    (lambda: v.validate_seed(None), TypeError, "seed must be a non-negative integer"),
    (lambda: v.validate_seed(-3, "every seed"), ValueError, "every seed must be a non-negative"),
    (lambda: v.validate_seed("1", allow_none=True), TypeError, "non-negative integer or None"),
    (lambda: v.validate_real("0.5", "ratio"), TypeError, "ratio must be a number"),
    (lambda: v.validate_real(np.nan, "S0"), ValueError, "S0 must be finite"),
    (lambda: v.validate_real(-0.1, "rtol", 0), ValueError, "rtol must be >= 0, got -0.1"),
    (lambda: v.validate_real(0, "lr", 0, open_min=True), ValueError, "lr must be > 0"),
    (lambda: v.validate_real(1.0, "beta1", 0, 1, open_max=True), ValueError,
     r"beta1 must be in \[0, 1\), got 1\.0"),
    (lambda: v.validate_real(2, "x", maximum=1), ValueError, "x must be <= 1"),
    (lambda: v.validate_sizes(2.5, "n"), TypeError, "n must be an integer"),
    (lambda: v.validate_sizes([3, 0], "N"), ValueError, "N must be >= 1, got min 0"),
    (lambda: v.validate_weights("abc"), TypeError, "array of probabilities"),
    (lambda: v.validate_weights([0.0, 0.0]), ValueError, "all zeros"),
    (lambda: v.validate_temperature(0), ValueError, "temperature must be > 0"),
    (lambda: v.validate_top_k(5, 4), ValueError, r"k must be an integer in \[1, 4\]"),
    (lambda: v.validate_top_p(0), ValueError, r"p_threshold must be in \(0, 1\]"),
])
def test_wrong_kind_is_a_type_error_out_of_range_a_value_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_weights_stay_torch_tensors():
    torch = pytest.importorskip("torch")
    q = v.validate_weights(torch.tensor([[1, 3]]))
    assert v.is_torch(q) and q.dtype == torch.float64
    torch.testing.assert_close(q, torch.tensor([[0.25, 0.75]], dtype=torch.float64))
    assert not v.is_torch(np.ones(2))
