// rm_quantize: real (IEEE-754 binary64) to integer, bit-exact with refmodel's `quantize` op
// (refmodel/ops/quantize.py, docs/ops/quantize.md; decisions D1, D5):
//
//   v   = float64(x) / float64(s)        one IEEE double division, round to nearest even
//   r   = round_half_even(v)             exact on the double v
//   out = saturate(r + ZP, OUT_BITS, OUT_SIGNED)
//
// `x` arrives as its 64-bit pattern (finite: the op refuses NaN and infinity), `s` (positive,
// finite; one per channel) on `in_scale` with it. The block reproduces both roundings exactly:
//
//   1. |x| = Mx * 2^ex, s = Ms * 2^es with 53-bit significands (subnormals included), both
//      normalised to a leading one at bit 52 (Mx / Ms in (1/2, 2)).
//   2. A restoring long division, one bit per cycle, gives Q = floor(Mx * 2^55 / Ms) (56 bits,
//      the top bit t = [Mx >= Ms]) and a remainder. The double quotient's significand is the
//      top 53 bits of Q, rounded to nearest even with the next bit (guard) and the OR of the
//      rest and of the remainder (sticky): fl(|v|) = M * 2^E, 2^52 <= M < 2^53 (a carry out of
//      the rounding gives M = 2^52, E + 1). This is the IEEE result wherever it is normal.
//      Where the IEEE quotient would be subnormal (|v| < 2^-1022) or overflow (infinity), the
//      computed M * 2^E is below 1/4 or above 2^34 as the IEEE value is, so step 3 gives the
//      same integer (0, or saturation on the side of the sign).
//   3. r = round_half_even(M * 2^E): from E >= -18 (|v| >= 2^34) every r + ZP lies beyond the
//      saturation bounds (|ZP| <= 2^32, bounds within 2^32); from E <= -55 (|v| < 1/4) r = 0;
//      in between r = M >> -E rounded half to even on the exact remainder. The sign of x is
//      applied to r (both roundings are symmetric), then ZP is added and the sum saturated.
//
// Interface: valid/ready streaming; one element in flight. `in_ready` is high while the block
// is idle. Latency: an element taken at edge t can be transferred out from edge t + 58 (56
// division steps, the rounding into the output register). Throughput: one element per 58
// cycles while `out_ready` is high (the division is sequential; nothing is shared between
// elements).
// Reset: synchronous, active high; it clears the state and the valid flag.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_quantize #(
    parameter integer OUT_BITS = 8,          // output width, 2..32
    parameter integer OUT_SIGNED = 1,        // 1: clamp to [-2^(b-1), 2^(b-1)-1]; 0: [0, 2^b - 1]
    parameter signed [63:0] ZP = 64'sd0      // zero point, in [-2^32, 2^32]
) (
    input  wire                clk,
    input  wire                rst,
    // input stream
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [63:0]         in_data,    // x, IEEE-754 binary64 bit pattern, finite
    input  wire [63:0]         in_scale,   // s of this element's channel, binary64, positive finite
    // output stream
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [OUT_BITS-1:0] out_data    // two's complement (OUT_SIGNED) or unsigned
);

    localparam signed [39:0] HI = OUT_SIGNED ? ((40'sd1 <<< (OUT_BITS - 1)) - 40'sd1)
                                             : ((40'sd1 <<< OUT_BITS) - 40'sd1);
    localparam signed [39:0] LO = OUT_SIGNED ? -(40'sd1 <<< (OUT_BITS - 1)) : 40'sd0;
    localparam signed [39:0] ZP40 = ZP;

    // ---------------------------------------------------------------- decode and normalise
    // A significand of 53 bits (hidden one, or a subnormal's fraction) and its unbiased
    // exponent (value = M * 2^e), then shifted left to a leading one at bit 52.
    function [5:0] lzc53(input [52:0] m);   // leading zeros of a 53-bit value (53 for 0)
        integer i;
        reg found;
        begin
            lzc53 = 6'd53;
            found = 1'b0;
            for (i = 52; i >= 0; i = i - 1)
                if (!found && m[i]) begin
                    lzc53 = 52 - i;
                    found = 1'b1;
                end
        end
    endfunction

    wire [10:0]  x_e = in_data[62:52];
    wire [52:0]  x_m = {(x_e != 11'd0), in_data[51:0]};
    wire [10:0]  s_e = in_scale[62:52];
    wire [52:0]  s_m = {(s_e != 11'd0), in_scale[51:0]};
    wire [5:0]   x_lz = lzc53(x_m);
    wire [5:0]   s_lz = lzc53(s_m);
    wire [52:0]  x_n = x_m << x_lz;
    wire [52:0]  s_n = s_m << s_lz;
    // Unbiased exponents of the normalised significands: e = max(E, 1) - 1075 - lz.
    wire signed [14:0] x_exp = $signed({4'd0, (x_e == 11'd0) ? 11'd1 : x_e}) - 15'sd1075 - $signed({9'd0, x_lz});
    wire signed [14:0] s_exp = $signed({4'd0, (s_e == 11'd0) ? 11'd1 : s_e}) - 15'sd1075 - $signed({9'd0, s_lz});

    // ---------------------------------------------------------------- the division, one bit per cycle
    localparam integer STEPS = 56;
    reg          busy;       // dividing, or holding a result for the output register
    reg  [5:0]   step;       // division steps left
    reg  [53:0]  rem;        // partial remainder, < 2 Ms
    reg  [52:0]  den;
    reg  [55:0]  quo;
    reg          neg;
    reg          zero_x;
    reg signed [14:0] e0;    // ex - es - 53: with t, E = e0 + t (before the rounding carry)

    wire         ge = (rem >= {1'b0, den});
    wire [53:0]  rem_sub = ge ? rem - {1'b0, den} : rem;

    // ---------------------------------------------------------------- round to a double, then to an integer
    wire         t = quo[55];
    wire [52:0]  m_top = t ? quo[55:3] : quo[54:2];
    wire         guard = t ? quo[2] : quo[1];
    wire         sticky = (t ? |quo[1:0] : quo[0]) | (rem != 54'd0);
    wire         up53 = guard && (sticky || m_top[0]);
    wire [53:0]  m_sum = {1'b0, m_top} + {53'd0, up53};
    wire         carry = m_sum[53];
    wire [52:0]  m53 = carry ? m_sum[53:1] : m_sum[52:0];       // 2^52 <= m53 < 2^53
    wire signed [14:0] e_q = e0 + $signed({14'd0, t}) + $signed({14'd0, carry});   // fl(|v|) = m53 * 2^e_q
    wire         big = (e_q >= -15'sd18);                       // |v| >= 2^34: saturates
    wire         tiny = (e_q <= -15'sd55);                      // |v| < 1/4: r = 0
    wire [5:0]   sh = (big || tiny) ? 6'd19 : (-e_q);           // 19..54 when used
    wire [53:0]  m54 = {1'b0, m53};                             // one bit more: 2^(sh-1) fits at sh = 54
    wire [53:0]  r_floor = m54 >> sh;
    wire [53:0]  r_rem = m54 & ~({54{1'b1}} << sh);
    wire [53:0]  r_half = 54'd1 << (sh - 6'd1);
    wire         r_up = (r_rem > r_half) || ((r_rem == r_half) && r_floor[0]);
    wire [35:0]  r_mag = (tiny || zero_x) ? 36'd0 : ({2'b0, r_floor[33:0]} + {35'd0, r_up});   // < 2^34 + 1
    wire signed [39:0] r_s = neg ? -$signed({4'd0, r_mag}) : $signed({4'd0, r_mag});
    wire signed [39:0] y = r_s + ZP40;
    wire signed [39:0] y_sat = (big && !zero_x) ? (neg ? LO : HI) : ((y > HI) ? HI : ((y < LO) ? LO : y));

    assign in_ready = !busy;

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            out_valid <= 1'b0;
        end else begin
            if (out_ready)
                out_valid <= 1'b0;
            if (!busy) begin
                if (in_valid) begin
                    busy <= 1'b1;
                    step <= STEPS;
                    rem <= {1'b0, x_n};
                    den <= s_n;
                    quo <= 56'd0;
                    neg <= in_data[63];
                    zero_x <= (x_m == 53'd0);
                    e0 <= x_exp - s_exp - 15'sd53;
                end
            end else if (step != 6'd0) begin
                quo <= {quo[54:0], ge};
                rem <= {rem_sub[52:0], 1'b0};
                step <= step - 6'd1;
            end else if (!out_valid || out_ready) begin
                out_valid <= 1'b1;
                out_data <= y_sat[OUT_BITS-1:0];
                busy <= 1'b0;
            end
        end
    end

endmodule
