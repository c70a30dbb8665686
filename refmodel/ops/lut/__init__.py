"""Exact lookup-table operators: ``lut.gelu`` (an exhaustive table of the rounded GELU),
``lut.softmax`` (an exp table, an exact row sum, one reciprocal per row) and
``lut.layernorm`` (a leading-one detector and a reciprocal-square-root mantissa table)."""
