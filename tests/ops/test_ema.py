"""The vectorised EMA against the exact recursion (scipy.signal.lfilter) and pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.signal import lfilter

from stratopt.ops import ema, ewm_mean
from stratopt.ops._ema import CHUNK, linear_recurrence


def _reference(x: np.ndarray, span: float) -> np.ndarray:
    a = 2.0 / (span + 1.0)
    return lfilter([a], [1.0, -(1.0 - a)], x, axis=0, zi=(1.0 - a) * x[:1])[0]


@pytest.mark.parametrize("n_days", [1, 5, CHUNK - 1, CHUNK, CHUNK + 1, 8313, CHUNK * CHUNK * 3 + 7])
def test_ema_matches_exact_recursion(n_days: int) -> None:
    rng = np.random.default_rng(n_days)
    x = np.cumsum(rng.normal(size=(n_days, 3)), axis=0) + 5.0
    spans = [1.0, 2.0, 7.3, 20.0, 399.5]
    got = ema(torch.tensor(x), torch.tensor(spans, dtype=torch.float64)).numpy()
    for b, s in enumerate(spans):
        ref = _reference(x, s)
        assert np.abs(got[b] - ref).max() <= 1e-9 * max(1.0, np.abs(ref).max())


def test_ema_matches_pandas_adjust_false() -> None:
    x = np.random.default_rng(0).normal(size=(300, 2)).cumsum(0)
    got = ema(torch.tensor(x), torch.tensor([10.0], dtype=torch.float64))[0].numpy()
    ref = pd.DataFrame(x).ewm(span=10.0, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(got, ref, atol=1e-10)


def test_ewm_mean_matches_pandas_adjust_true_and_respects_weights() -> None:
    x = np.random.default_rng(1).normal(size=(500, 2))
    got = ewm_mean(torch.tensor(x), torch.tensor([30.0], dtype=torch.float64))[0].numpy()
    ref = pd.DataFrame(x).ewm(span=30.0, adjust=True).mean().to_numpy()
    np.testing.assert_allclose(got, ref, atol=1e-10)
    # zero weights before day 100: same as pandas on the series starting at day 100
    w = np.zeros_like(x)
    w[100:] = 1.0
    got_w = ewm_mean(torch.tensor(x), torch.tensor([30.0], dtype=torch.float64), weights=torch.tensor(w), floor=-7.0)
    np.testing.assert_allclose(got_w[0, 100:].numpy(), pd.DataFrame(x[100:]).ewm(span=30.0).mean(), atol=1e-10)
    assert (got_w[0, :100] == -7.0).all()


def test_ema_is_causal_bit_for_bit() -> None:
    x = torch.randn(1000, 2, dtype=torch.float64).cumsum(0)
    y = x.clone()
    y[600:] *= 3.0
    span = torch.tensor([5.0, 50.0], dtype=torch.float64)
    assert torch.equal(ema(x, span)[:, :600], ema(y, span)[:, :600])


def test_ema_gradcheck_in_span() -> None:
    x = torch.randn(150, 2, dtype=torch.float64).cumsum(0)
    span = torch.tensor([3.0, 40.0], dtype=torch.float64, requires_grad=True)
    # fast mode checks random projections of the Jacobian: same power, 100x fewer backward passes
    assert torch.autograd.gradcheck(lambda s: ema(x, s), (span,), fast_mode=True)
    assert torch.autograd.gradcheck(lambda s: ewm_mean(x * x, s), (span,), fast_mode=True)


def test_linear_recurrence_with_batched_inputs() -> None:
    x = torch.randn(2, 200, 3, dtype=torch.float64)
    q = torch.tensor([0.5, 0.97], dtype=torch.float64)
    got = linear_recurrence(x, q)
    for b in range(2):
        ref = lfilter([1.0], [1.0, -float(q[b])], x[b].numpy(), axis=0)
        np.testing.assert_allclose(got[b].numpy(), ref, atol=1e-12)


def test_float32_is_close_to_float64() -> None:
    x = torch.randn(8313, 4, dtype=torch.float64).cumsum(0) * 0.01 + 4.0
    span = torch.tensor([20.0, 200.0], dtype=torch.float64)
    got = ema(x.float(), span.float()).double()
    assert (got - ema(x, span)).abs().max() < 1e-4


def test_repeated_spans_without_grad_match_separate_computation() -> None:
    x = torch.randn(500, 2, dtype=torch.float64).cumsum(0)
    spans = torch.tensor([5.0, 20.0, 5.0, 7.5, 20.0], dtype=torch.float64)
    with torch.no_grad():
        shared = ema(x, spans)
    for b, s in enumerate(spans):
        assert torch.equal(shared[b], ema(x, s.reshape(1))[0])


def test_forward_mode_tangents_survive_repeated_spans() -> None:
    from torch.autograd import forward_ad as fwad

    x = torch.randn(300, 2, dtype=torch.float64).cumsum(0)
    spans = torch.tensor([5.0, 5.0], dtype=torch.float64)
    with fwad.dual_level():
        y = ema(x, fwad.make_dual(spans, torch.tensor([1.0, 0.0], dtype=torch.float64)))
        tangent = fwad.unpack_dual(y).tangent
    h = 1e-6
    fd = (
        ema(x, spans + torch.tensor([h, 0.0], dtype=torch.float64))
        - ema(x, spans - torch.tensor([h, 0.0], dtype=torch.float64))
    ) / (2 * h)
    torch.testing.assert_close(tangent, fd, atol=1e-6, rtol=1e-6)


# --------------------------------------------------------------- the CPU filter (scipy lfilter)
def test_cpu_filter_gradients_and_second_derivatives_are_exact() -> None:
    from stratopt.ops._lfilter import filter_cpu

    gen = torch.Generator().manual_seed(0)
    a = torch.tensor([0.05, 0.5, 0.95], dtype=torch.float64, requires_grad=True)
    for shape in [(25, 2), (3, 25, 2)]:  # shared by every factor, or one series per factor
        x = torch.randn(*shape, dtype=torch.float64, generator=gen, requires_grad=True)
        assert torch.autograd.gradcheck(filter_cpu, (x, a))
        assert torch.autograd.gradgradcheck(filter_cpu, (x, a))  # Hessian-vector products


def test_cpu_filter_equals_the_chunked_scan_and_pandas() -> None:
    from stratopt.ops._ema import linear_recurrence
    from stratopt.ops._lfilter import filter_cpu

    x = torch.randn(300, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).cumsum(0)
    a = torch.tensor([0.01, 0.2, 1.0], dtype=torch.float64)
    scan = a.reshape(-1, 1, 1) * linear_recurrence(x, 1.0 - a)
    torch.testing.assert_close(filter_cpu(x, a), scan, rtol=1e-12, atol=1e-12)
    frame = pd.DataFrame(x.numpy())
    torch.testing.assert_close(
        ema(x, torch.tensor([9.0], dtype=torch.float64))[0],
        torch.tensor(frame.ewm(span=9.0, adjust=False).mean().to_numpy()),
        rtol=1e-12,
        atol=1e-12,
    )
    y32 = filter_cpu(x.float(), a.float())
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), scan, rtol=1e-5, atol=1e-4)


def test_forward_mode_derivative_of_the_span_still_works() -> None:
    import torch.autograd.forward_ad as fwad

    x = torch.randn(200, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).cumsum(0)
    span = torch.tensor([12.0], dtype=torch.float64)
    with fwad.dual_level():
        out = ema(x, fwad.make_dual(span, torch.ones_like(span)))
        jvp = fwad.unpack_dual(out).tangent
    s = span.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(ema(x, s).sum(), s)
    torch.testing.assert_close(jvp.sum(), grad.sum(), rtol=1e-10, atol=1e-12)


def test_cpu_filter_on_threads_equals_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import stratopt.ops._lfilter as lf

    x = torch.randn(400, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    a = torch.linspace(0.02, 0.9, 5, dtype=torch.float64, requires_grad=True)
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = lf.filter_cpu(x, a)
        (g_one,) = torch.autograd.grad(one.square().sum(), a)
        torch.set_num_threads(2)
        monkeypatch.setattr(lf, "PARALLEL_ELEMENTS", 1)  # every row on the pool
        monkeypatch.setattr(lf, "_POOL", None)  # so the pool below is this call's
        two = lf.filter_cpu(x, a)
        (g_two,) = torch.autograd.grad(two.square().sum(), a)
    finally:
        torch.set_num_threads(old)
    assert lf._POOL is not None  # the pool ran
    assert torch.equal(one, two) and torch.equal(g_one, g_two)
