// rm_ibert_gelu: I-BERT i-GELU, element-wise, bit-exact with refmodel's `ibert.gelu` op
// (refmodel/ops/ibert/gelu.py, docs/ops/ibert.gelu.md; decisions D12, D14, D15):
//
//   A   = min(|X|, -Bg)          clip
//   D   = A + Bg                 in [Bg, 0]
//   P   = D * D + Cg             erf polynomial (< 0)
//   Y   = sign(X) * P            0 at X = 0
//   Z   = (Y >>> 14) + One       arithmetic (floor) shift
//   OUT = -(X * Z)
//
// Bg, Cg, One are the channel's constants (negative); they travel with each element, so the
// per-channel unit is this block behind a per-channel register file (the channel of element i
// is i % COLS). No rounding besides the floor shift and no saturation: every width below holds
// its value exactly for every accepted scale, and OUT fits OUT_BITS (refmodel derives
// OUT_BITS from the proven range; D14).
//
// Interface: valid/ready streaming, one element per cycle; `in_ready` depends
// combinationally on `out_ready` (as rm_requant).
// Latency 2 cycles: an element taken at edge t is on `out_data` from edge t+1, so its earliest
// transfer is at edge t+2 (stage 1: clip, square, polynomial, sign; stage 2: shift, add, product).
// Reset: synchronous, active high; it clears the valid flags only.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_ibert_gelu #(
    parameter integer IN_BITS = 32,    // signed input width, 2..32
    parameter integer OUT_BITS = 49,   // signed output width (the set's out_bits)
    parameter integer BG_BITS = 18,    // signed width of the Bg port
    parameter integer CG_BITS = 34,    // signed width of the Cg port
    parameter integer ONE_BITS = 20    // signed width of the One port
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [IN_BITS-1:0]  in_data,   // two's complement
    input  wire [BG_BITS-1:0]  in_bg,     // this element's channel constants, two's complement
    input  wire [CG_BITS-1:0]  in_cg,
    input  wire [ONE_BITS-1:0] in_one,
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [OUT_BITS-1:0] out_data   // two's complement
);

    localparam integer AW = ((IN_BITS > BG_BITS) ? IN_BITS : BG_BITS) + 1;   // |X|, -Bg
    localparam integer PW = ((2 * BG_BITS > CG_BITS) ? 2 * BG_BITS : CG_BITS) + 1;
    localparam integer YW = PW + 1;                                           // +-P
    localparam integer ZW = ((YW > ONE_BITS) ? YW : ONE_BITS) + 1;
    localparam integer XW = IN_BITS + ZW + 1;                                 // X * Z, then -
    localparam integer RW = (XW > OUT_BITS) ? XW : OUT_BITS;

    // ---------------------------------------------------------------- stage 1
    wire signed [IN_BITS-1:0] x = in_data;
    wire signed [BG_BITS-1:0] bg = in_bg;
    wire signed [AW-1:0]      ax = x[IN_BITS-1] ? -$signed({x[IN_BITS-1], x}) : $signed({x[IN_BITS-1], x});
    wire signed [AW-1:0]      nbg = -$signed({bg[BG_BITS-1], bg});
    wire signed [AW-1:0]      a = (ax > nbg) ? nbg : ax;
    wire signed [BG_BITS:0]   dd = a + bg;                     // [Bg, 0]
    wire signed [PW-1:0]      p = dd * dd + $signed(in_cg);
    wire signed [YW-1:0]      y = x[IN_BITS-1] ? -$signed({p[PW-1], p}) : ((x == 0) ? {YW{1'b0}} : {p[PW-1], p});

    reg                       v1;
    reg signed [IN_BITS-1:0]  x1;
    reg signed [YW-1:0]       y1;
    reg signed [ONE_BITS-1:0] one1;

    wire ready2 = !out_valid || out_ready;
    wire ready1 = !v1 || ready2;
    assign in_ready = ready1;

    always @(posedge clk) begin
        if (rst) begin
            v1 <= 1'b0;
        end else if (ready1) begin
            v1 <= in_valid;
            if (in_valid) begin
                x1 <= x;
                y1 <= y;
                one1 <= in_one;
            end
        end
    end

    // ---------------------------------------------------------------- stage 2
    wire signed [ZW-1:0] zz = (y1 >>> 14) + one1;
    wire signed [RW-1:0] xz = x1 * zz;
    wire signed [RW-1:0] o = -xz;

    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
        end else if (ready2) begin
            out_valid <= v1;
            if (v1)
                out_data <= o[OUT_BITS-1:0];
        end
    end

endmodule
