// rm_requant_add: the residual join, bit-exact with refmodel's `requant_add` op
// (refmodel/ops/requant_add.py, docs/ops/requant_add.md; decisions D5, D6, D12):
//
//   ya  = saturate_32(rne_shift(a * m_a, c_a))      branch a: rm_requant, 32-bit signed out
//   yb  = saturate_32(rne_shift(b * m_b, c_b))      branch b: rm_requant, 32-bit signed out
//   s   = ya + yb                                   33 bits, exact
//   out = saturate(s, OUT_BITS, OUT_SIGNED)
//
// Each branch is rounded (half to even, on its exact product) and saturated to its 32-bit
// register on its own, then the two registers are summed and saturated: two rm_requant
// blocks side by side and one adder stage. The constants m_a, c_a, m_b, c_b travel with each
// element (as in rm_requant), so a per-channel join is this block fed from a per-channel
// register file (the channel of an element is its index on a's last axis).
//
// Interface: two valid/ready input streams, `a` and `b`, joined: an element pair is taken on
// an edge where both are valid and the block is ready (`a_ready = ready && b_valid`,
// `b_ready = ready && a_valid`, so each ready depends on the other stream's valid but no valid
// depends on a ready); `ready` depends combinationally on `out_ready`. A `b` broadcast over a's
// shape is streamed in a's element order (the testbench repeats its elements).
// Latency: 3 cycles. A pair taken at edge t can be transferred out from edge t+3 (product;
// shift, round, saturate to 32 bits; sum and saturate). Throughput: one element per cycle
// while `out_ready` is high. Nothing is shared between elements.
// Reset: synchronous, active high; it clears the valid flags only.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_requant_add #(
    parameter integer A_BITS = 32,    // signed width of a, 2..32
    parameter integer B_BITS = 16,    // signed width of b, 2..32
    parameter integer OUT_BITS = 16,  // output width, 2..32
    parameter integer OUT_SIGNED = 1, // 1: clamp to [-2^(b-1), 2^(b-1)-1]; 0: [0, 2^b - 1]
    parameter integer C_BITS = 8      // width of the shift ports
) (
    input  wire                clk,
    input  wire                rst,
    // stream a, with its channel's constants
    input  wire                a_valid,
    output wire                a_ready,
    input  wire [A_BITS-1:0]   a_data,    // two's complement
    input  wire [30:0]         in_m_a,
    input  wire [C_BITS-1:0]   in_c_a,
    // stream b, with its channel's constants (sampled with the a element)
    input  wire                b_valid,
    output wire                b_ready,
    input  wire [B_BITS-1:0]   b_data,    // two's complement
    input  wire [30:0]         in_m_b,
    input  wire [C_BITS-1:0]   in_c_b,
    // output stream
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [OUT_BITS-1:0] out_data   // two's complement (OUT_SIGNED) or unsigned
);

    // Saturation bounds of the sum, at 35 bits: 2^32 - 1 fits, and so does any 33-bit sum.
    localparam signed [34:0] HI = OUT_SIGNED ? ((35'sd1 <<< (OUT_BITS - 1)) - 35'sd1)
                                             : ((35'sd1 <<< OUT_BITS) - 35'sd1);
    localparam signed [34:0] LO = OUT_SIGNED ? -(35'sd1 <<< (OUT_BITS - 1)) : 35'sd0;

    wire        ready3 = !out_valid || out_ready;   // the sum stage can take a pair of branches
    wire        both = a_valid && b_valid;
    wire        ready_a, ready_b;                   // equal: both branches see the same stream
    wire        ya_valid, yb_valid;
    wire [31:0] ya, yb;

    assign a_ready = ready_a && b_valid;
    assign b_ready = ready_b && a_valid;

    rm_requant #(.IN_BITS(A_BITS), .OUT_BITS(32), .OUT_SIGNED(1), .C_BITS(C_BITS)) branch_a (
        .clk(clk), .rst(rst),
        .in_valid(both), .in_ready(ready_a), .in_data(a_data), .in_m(in_m_a), .in_c(in_c_a),
        .out_valid(ya_valid), .out_ready(ready3), .out_data(ya)
    );
    rm_requant #(.IN_BITS(B_BITS), .OUT_BITS(32), .OUT_SIGNED(1), .C_BITS(C_BITS)) branch_b (
        .clk(clk), .rst(rst),
        .in_valid(both), .in_ready(ready_b), .in_data(b_data), .in_m(in_m_b), .in_c(in_c_b),
        .out_valid(yb_valid), .out_ready(ready3), .out_data(yb)
    );

    // ---------------------------------------------------------------- stage 3: sum, saturate
    wire signed [34:0] s = $signed({{3{ya[31]}}, ya}) + $signed({{3{yb[31]}}, yb});
    wire signed [34:0] s_sat = (s > HI) ? HI : ((s < LO) ? LO : s);

    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
        end else if (ready3) begin
            out_valid <= ya_valid && yb_valid;
            if (ya_valid && yb_valid)
                out_data <= s_sat[OUT_BITS-1:0];
        end
    end

endmodule
