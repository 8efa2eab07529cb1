"""The statistical check of the chapters: standard errors, verdicts, messages and bad input."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from helpers import agreement
from helpers.agreement import Disagreement

RNG_SEED = 20240515


def normal_runs(mean, runs=400, seed=0, scale=1.0):
    """``runs`` rows of independent normal draws around ``mean`` (one column per point)."""
    mean = np.atleast_1d(np.asarray(mean, dtype=float))
    return np.random.default_rng(seed).normal(mean, scale, size=(runs, mean.size))


# --- the standard errors against their formulas -------------------------------------------------

def test_mean_standard_error_is_the_sample_one():
    x = normal_runs([0.0, 1.0, 2.0], runs=50, seed=1)
    result = agreement.agree(x, [0.0, 1.0, 2.0])
    np.testing.assert_allclose(result.estimate, x.mean(0))
    np.testing.assert_allclose(result.se, x.std(0, ddof=1) / np.sqrt(50))
    np.testing.assert_allclose(result.z, x.mean(0) / result.se - [0, 1, 2] / result.se)


def test_binomial_standard_error_is_taken_at_the_expected_probability():
    events = np.zeros((1000, 3), bool)
    events[:300, 0] = events[:500, 1] = events[:1, 2] = True
    q = np.array([0.3, 0.5, 0.001])
    result = agreement.agree(events, q)
    np.testing.assert_allclose(result.estimate, [0.3, 0.5, 0.001])
    np.testing.assert_allclose(result.se, np.sqrt(q * (1 - q) / 1000))
    np.testing.assert_allclose(agreement.binomial_se(q, 1000), result.se)
    assert agreement.binomial_se(1.7, 10) == 0  # a vacuous bound above 1: clipped


def test_variance_standard_error_is_the_delta_method_one():
    x = np.random.default_rng(2).exponential(size=(300, 2))
    result = agreement.agree(x, x.var(0, ddof=1), statistic="variance")
    centred = x - x.mean(0)
    m2, m4 = (centred**2).mean(0), (centred**4).mean(0)
    np.testing.assert_allclose(result.se, np.sqrt((m4 - m2**2) / 300))
    np.testing.assert_allclose(result.estimate, x.var(0, ddof=1))
    np.testing.assert_array_equal(result.z, 0)


def test_delta_method_standard_error_matches_the_spread_of_the_variance():
    """Simulate the sample variance many times: its spread is the delta-method SE."""
    rng = np.random.default_rng(RNG_SEED)
    runs, replications = 400, 2000
    x = rng.exponential(size=(runs, replications))  # skewed: m4 = 9, sigma^4 = 1
    result = agreement.agree(x, 1.0, statistic="variance", k=1e6)
    spread = result.estimate.std(ddof=1)              # the true SE of the variance, simulated
    exact = math.sqrt((9 - 1) / runs)                 # (mu4 - sigma^4) / runs for Exp(1)
    assert spread == pytest.approx(exact, rel=0.05)
    assert np.median(result.se) == pytest.approx(spread, rel=0.1)
    # and the check is calibrated: about 4.6% of replications beyond 2 SE
    beyond = (np.abs(result.z) > 2).mean()
    assert 0.02 < beyond < 0.09, beyond


def test_count_standard_error_is_poisson():
    result = agreement.agree(np.array([95, 210]), np.array([100.0, 200.0]), statistic="count")
    np.testing.assert_allclose(result.se, [10.0, np.sqrt(200)])
    np.testing.assert_allclose(result.z, [-0.5, 10 / np.sqrt(200)])


def test_paired_and_independent_standard_errors():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(500, 2))
    b = a + rng.normal(0.0, 0.1, size=(500, 2))       # strongly correlated with a
    paired = agreement.agree(a, b, paired=True)
    np.testing.assert_allclose(paired.estimate, (a - b).mean(0))
    np.testing.assert_allclose(paired.se, (a - b).std(0, ddof=1) / np.sqrt(500))
    c = rng.normal(size=(200, 2))                      # independent, fewer runs
    independent = agreement.agree(a, c, paired=False)
    np.testing.assert_allclose(independent.se, np.hypot(a.std(0, ddof=1) / np.sqrt(500),
                                                        c.std(0, ddof=1) / np.sqrt(200)))
    np.testing.assert_allclose(independent.estimate - independent.expected,
                               a.mean(0) - c.mean(0))


def test_mean_check_is_calibrated():
    """Under the null the z-scores are standard normal: 2-SE bands fail about 4.6% of points."""
    x = np.random.default_rng(4).normal(size=(200, 5000))
    z = agreement.agree(x, 0.0, k=1e6).z
    assert abs(z.mean()) < 0.06 and z.std() == pytest.approx(1.0, abs=0.05)
    assert (np.abs(z) > 2).mean() == pytest.approx(2 * norm.sf(2), abs=0.01)


# --- verdicts --------------------------------------------------------------------------------

def test_agree_passes_and_summarises():
    result = agreement.agree(normal_runs(np.zeros(50), seed=5), 0.0)
    assert isinstance(result, agreement.Agreement)
    assert result.z.shape == (50,) and result.worst == np.abs(result.z).max() < 4
    assert repr(result) == f"max |z| = {result.worst:.2f} over 50 points (4 SE allowed)"
    assert str(result) == repr(result)
    one = agreement.agree(normal_runs(0.0, seed=5)[:, 0], 0.0, k=4.5)
    assert np.ndim(one.z) == 0 and repr(one).startswith("z = ")
    assert repr(one).endswith("(4.5 SE allowed)")


def test_agree_fails_naming_the_worst_point():
    x = normal_runs(np.zeros(5), seed=6)
    x[:, 3] += 0.5                                     # 10 standard errors off
    x[:, 1] += 0.3                                     # 6 standard errors off
    with pytest.raises(Disagreement) as err:
        agreement.agree(x, 0.0, what="E[sigma_m]")
    message = str(err.value)
    assert isinstance(err.value, AssertionError)
    assert message.startswith("E[sigma_m] at point 3: simulated 0.5")
    assert "expected 0" in message and "|z| <= 4 is required" in message
    assert "(2 of 5 points fail)" in message
    z = err.value.result.z
    assert z[3] == pytest.approx(x[:, 3].mean() / (x[:, 3].std(ddof=1) / 20))
    assert f"z = {z[3]:+.2f}" in message


def test_labels_name_the_point():
    x = normal_runs(np.zeros(3), seed=7)
    x[:, 2] -= 1.0
    with pytest.raises(Disagreement, match=r"at m = 3: simulated -1"):
        agreement.agree(x, 0.0, labels=["m = 1", "m = 2", "m = 3"])
    x2 = np.stack([x, x], axis=2)                       # points of shape (3, 2)
    with pytest.raises(Disagreement, match=r"at m = 3, index 0:"):
        agreement.agree(x2, 0.0, labels=["m = 1", "m = 2", "m = 3"])
    with pytest.raises(Disagreement, match=r"at point \(2, 0\):"):
        agreement.agree(x2, 0.0)


def test_tolerances_widen_the_band():
    x = normal_runs(np.full(3, 1.1), seed=8, scale=0.2)  # 10% above: about 10 SE
    with pytest.raises(Disagreement, match="tolerance"):
        agreement.agree(x, 1.0, rtol=0.05)
    assert agreement.agree(x, 1.0, rtol=0.10).worst > 4  # raw z is reported
    agreement.agree(x, 1.0, atol=[0.1, 0.1, 0.1])
    assert "+ tolerance" in repr(agreement.agree(x, 1.0, atol=0.1))


def test_min_se_is_a_floor():
    x = np.zeros((100, 2))
    x[:, 0] = 0.5                                      # zero spread
    with pytest.raises(Disagreement):
        agreement.at_most(x, 0.49)
    result = agreement.at_most(x, 0.49, min_se=0.01)
    np.testing.assert_allclose(result.se, [0.01, 0.01])


def test_zero_standard_error():
    x = np.full((10, 2), 0.25)
    np.testing.assert_array_equal(agreement.agree(x, 0.25).z, [0.0, 0.0])
    with pytest.raises(Disagreement, match=r"z = \+inf"):
        agreement.agree(x, [0.25, 0.2])
    events = np.zeros((100, 2), bool)                  # probability 0: never happens
    agreement.agree(events, [0.0, 0.0])
    events[0, 1] = True
    with pytest.raises(Disagreement, match="at point 1"):
        agreement.agree(events, [0.0, 0.0])


def test_one_sided_bounds():
    x = normal_runs(np.zeros(4), seed=9)
    se = x.std(0, ddof=1) / 20
    lower = agreement.at_least(x, x.mean(0) + 3 * se)  # 3 SE below the bound: allowed
    np.testing.assert_allclose(lower.z, -3)
    assert lower.worst == pytest.approx(-3) and "min z = -3.00" in repr(lower)
    with pytest.raises(Disagreement, match=r"lower bound .*z >= -4 is required"):
        agreement.at_least(x, x.mean(0) + 5 * se)
    agreement.at_most(x, x.mean(0) - 3 * se)
    with pytest.raises(Disagreement, match=r"upper bound .*z <= 4 is required"):
        agreement.at_most(x, x.mean(0) - 5 * se)
    agreement.at_least(x, -10.0)                      # far above a lower bound: fine


def test_bounds_on_events_use_the_binomial_error_at_the_bound():
    events = np.zeros((10_000, 2), bool)
    events[:560, 0] = events[:100, 1] = True          # fractions 0.056 and 0.01
    bound = np.array([0.05, 1.5])                     # the second bound is vacuous (> 1)
    result = agreement.at_most(events, bound)
    np.testing.assert_allclose(result.se, [np.sqrt(0.05 * 0.95 / 10_000), 0.0])
    with pytest.raises(Disagreement):
        agreement.at_most(events, [0.04, 1.5])        # 0.056 is 8 SE above 0.04
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        agreement.agree(events, bound)


def test_directions():
    x = normal_runs(np.array([1.0, 2.0]), seed=10)
    agreement.exceeds(x, 0.0)
    with pytest.raises(Disagreement, match=r"z > 4 is required"):
        agreement.exceeds(x, [0.0, 1.95])
    agreement.falls_below(-x, 0.0)
    with pytest.raises(Disagreement, match=r"z < -4 is required"):
        agreement.falls_below(x, 3.0 - np.array([0.0, 0.98]))
    with pytest.raises(Disagreement):
        agreement.exceeds(np.ones((5, 1)), 1.0, k=0)   # k = 0: strictly above
    assert agreement.exceeds(np.ones((5, 1)), 0.99, k=0).worst == np.inf


def test_paired_direction_and_difference():
    rng = np.random.default_rng(11)
    common = rng.normal(1.0, 1.0, size=(300, 3))
    rare = common - 0.05 + rng.normal(0.0, 0.01, size=(300, 3))
    agreement.exceeds(common, rare, paired=True)      # tiny gap, but every run agrees
    with pytest.raises(Disagreement, match="independent samples"):
        agreement.exceeds(common, rare, paired=False)  # lost in the run-to-run spread
    later = rng.normal(2.0, 1.0, size=(100, 3))
    agreement.exceeds(later, common, paired=False)
    agreement.falls_below(common, later, paired=False)
    with pytest.raises(Disagreement, match="mean difference"):
        agreement.agree(later, common, paired=False)


def test_exact_binomial_test():
    rng = np.random.default_rng(12)
    q = np.array([0.5, 0.01, 0.0005])
    events = rng.random((20_000, 3)) < q
    result = agreement.agree(events, q, exact=True)
    assert result.p_value.shape == (3,) and (result.p_value > agreement.level(4)).all()
    assert "smallest exact p-value" in repr(result) and "as strict as 4 SE" in repr(result)
    events[:40, 2] = True                              # 40 + ~10 events where 10 are expected
    with pytest.raises(Disagreement, match=r"at point 2: .*exact binomial p-value"):
        agreement.agree(events, q, exact=True)


def test_an_estimate_with_its_own_standard_error():
    """A fitted coefficient: the check uses the standard error it comes with."""
    fit = agreement.agree(1.5e-4, 0.0, se=1e-4, what="quadratic coefficient")
    assert fit.z == pytest.approx(1.5) and fit.se == 1e-4
    with pytest.raises(Disagreement, match=r"quadratic coefficient: simulated 0.0005"):
        agreement.agree(5e-4, 0.0, se=1e-4, what="quadratic coefficient")
    agreement.falls_below(np.array([1e-4, 2e-4]), 1e-2, se=[1e-4, 1e-3])
    with pytest.raises(Disagreement):
        agreement.falls_below(np.array([1e-4, 2e-4]), 1e-2, se=[1e-4, 3e-3])


def test_z_scores_report_without_checking():
    x = normal_runs(np.zeros(3), seed=14)
    report = agreement.z_scores(x, 1.0)               # 20 standard errors off: no error
    assert report.worst > 15 and report.z.shape == (3,)
    assert repr(report).endswith("(z-scores only, no check)")
    np.testing.assert_allclose(report.z, agreement.agree(x, 1.0, k=1e6).z)


def test_mean_se_for_printouts():
    x = normal_runs([0.0, 5.0], runs=64, seed=15)
    mean, se = agreement.mean_se(x)
    np.testing.assert_allclose(mean, x.mean(0))
    np.testing.assert_allclose(se, x.std(0, ddof=1) / 8)
    one_mean, one_se = agreement.mean_se(x[:, 0])
    assert np.ndim(one_mean) == 0 and np.ndim(one_se) == 0  # plain numbers for a printout
    assert one_se == pytest.approx(x[:, 0].std(ddof=1) / 8)
    fraction, _ = agreement.mean_se(np.array([True, False, False, True]))
    assert fraction == 0.5
    gap_mean, gap_se = agreement.mean_se(np.array([[np.nan, 1.0], [np.nan, 3.0]]))
    assert np.isnan(gap_mean[0]) and np.isnan(gap_se[0]) and gap_mean[1] == 2.0  # for plots


def test_level():
    assert agreement.level(4) == pytest.approx(agreement.FOUR_SIGMA_LEVEL, rel=1e-12)
    assert agreement.level(4.5) == pytest.approx(2 * norm.sf(4.5))


# --- bad input -------------------------------------------------------------------------------

X = normal_runs(np.zeros(3), runs=20, seed=13)


@pytest.mark.parametrize(("call", "error", "phrase"), [
    (lambda: agreement.agree(X, 0.0, statistic="median"), ValueError, "statistic must be one"),
    (lambda: agreement.agree(X, 0.0, paired="yes"), TypeError, "paired must be None"),
    (lambda: agreement.agree(X, X[:, :2], paired=True), ValueError, "same shape"),
    (lambda: agreement.agree(X, X[:, :2], paired=False), ValueError, "matching points"),
    (lambda: agreement.agree(X, np.zeros(2)), ValueError, "does not broadcast"),
    (lambda: agreement.agree(X, X), ValueError, "paired=True or paired=False"),
    (lambda: agreement.agree(np.array([[np.nan]] * 3), 0.0), ValueError, "NaN"),
    (lambda: agreement.agree(X, np.inf), ValueError, "NaN or infinite"),
    (lambda: agreement.agree(X[:1], 0.0), ValueError, "at least 2"),
    (lambda: agreement.agree(0.3, 0.0), ValueError, "one value per run"),
    (lambda: agreement.agree("abc", 0.0), TypeError, "array of numbers"),
    (lambda: agreement.agree(X, 0.0, k=-1), ValueError, ">= 0"),
    (lambda: agreement.agree(X, 0.0, k=True), TypeError, "must be a number"),
    (lambda: agreement.agree(X, 0.0, k="4"), TypeError, "must be a number"),
    (lambda: agreement.agree(X, 0.0, exact=True), ValueError, "boolean events"),
    (lambda: agreement.agree(X > 0, 0.5, exact=1), TypeError, "exact must be True or False"),
    (lambda: agreement.at_least(X > 0, 0.5, exact=True), TypeError, "unexpected keyword"),
    (lambda: agreement.agree(X > 0, 0.5, statistic="variance"), ValueError, "binomial"),
    (lambda: agreement.agree(X, 0.0, statistic="variance", paired=True), ValueError,
     "compare means"),
    (lambda: agreement.agree(np.array([-1, 2]), 1.0, statistic="count"), ValueError,
     "nonnegative"),
    (lambda: agreement.agree(X, 0.0, rtol=-0.1), ValueError, "rtol"),
    (lambda: agreement.agree(X, 0.0, atol=-0.1), ValueError, "atol must be nonnegative"),
    (lambda: agreement.agree(X, 0.0, min_se=[1, 2]), ValueError, "does not broadcast"),
    (lambda: agreement.agree(X + 9, 0.0, labels=["a", "b"]), ValueError, "labels has 2"),
    (lambda: agreement.binomial_se(0.5, 0), ValueError, "positive integer"),
    (lambda: agreement.agree(0.1, 0.0, se=-1.0), ValueError, "se must be nonnegative"),
    (lambda: agreement.agree(X, 0.0, se=0.1, paired=True), ValueError, "cannot be combined"),
    (lambda: agreement.mean_se(np.ones(1)), ValueError, "at least 2"),
])
def test_bad_input_gets_a_clear_error(call, error, phrase):
    with pytest.raises(error) as err:
        call()
    assert phrase in str(err.value)


# --- the exact binomial test -----------------------------------------------------------------

def test_four_sigma_level():
    assert agreement.FOUR_SIGMA_LEVEL == pytest.approx(2 * norm.sf(4), rel=1e-12)


@pytest.mark.parametrize(("call", "error", "phrase"), [
    (lambda: agreement.binomial_test(np.array([1.5]), 10, 0.5), TypeError, "integers"),
    (lambda: agreement.binomial_test(3, 10.0, 0.5), TypeError, "trials"),
    (lambda: agreement.binomial_test(3, 10, 1.5), ValueError, "[0, 1]"),
    (lambda: agreement.binomial_test(11, 10, 0.5), ValueError, "between 0 and trials"),
])
def test_binomial_test_arguments(call, error, phrase):
    with pytest.raises(error) as err:
        call()
    assert phrase in str(err.value)


def test_binomial_test_values():
    p_value, z = agreement.binomial_test(np.array([0, 5, 10]), 10, 0.5)
    assert p_value == pytest.approx([2 / 1024, 1.0, 2 / 1024])
    assert z == pytest.approx([-np.sqrt(10), 0.0, np.sqrt(10)])
    # degenerate probabilities: a count that cannot happen has p-value 0 and infinite z
    p_value, z = agreement.binomial_test(np.array([0, 1, 10]), 10, np.array([0.0, 0.0, 1.0]))
    assert p_value.tolist() == [1.0, 0.0, 1.0] and z.tolist() == [0.0, np.inf, 0.0]


def test_binomial_test_calibration():
    rng = np.random.default_rng(1)
    probs = np.array([0.001, 0.02, 0.3, 0.5])
    counts = rng.binomial(2000, probs, size=(5000, 4))
    p_value, _ = agreement.binomial_test(counts, 2000, probs)
    # exact two-sided test: P(p-value <= 0.05) is at most 0.05 (conservative for discreteness)
    rejected = (p_value <= 0.05).mean(axis=0)
    assert np.all(rejected <= 0.05 + 4 * np.sqrt(0.05 * 0.95 / 5000)), rejected
