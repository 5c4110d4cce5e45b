"""Totals and their human form."""
from netdsl.inspection import format_flops


def test_format_flops():
    assert format_flops(5_570_672_640) == "5.57 GFLOPs"
    assert format_flops(5_564_961_792) == "5.56 GFLOPs"
    assert format_flops(152_289_280) == "152 MFLOPs"
    assert format_flops(1_708) == "1.71 kFLOPs"
    assert format_flops(999) == "999 FLOPs" and format_flops(0) == "0 FLOPs"
    assert format_flops(2_500_000_000_000) == "2.5 TFLOPs"


def test_format_symbolic_flops():
    import sympy
    assert format_flops(1728 * sympy.Symbol("N")) == "1728*N FLOPs"
