// rm_requant: dyadic requantiser, bit-exact with refmodel's `requant` op
// (docs/ops/requant.md; decisions D5, D6, D12).
//
//   p   = z * m                         exact signed product (IN_BITS + 32 bits)
//   y   = rne_shift(p, c)               round half to even of p / 2^c, on the exact product
//   t   = y + ZP                        exact: |y| < 2^(IN_BITS+30), |ZP| < 2^32
//   out = saturate(t, OUT_BITS, OUT_SIGNED)
//
// `m` (31-bit unsigned, 2^30 <= m < 2^31 for constants from refmodel) and `c` (unsigned shift,
// any value: a shift of IN_BITS + 31 or more gives y = 0, since |p| < 2^(IN_BITS+30)) travel
// with each element, so a per-channel requantiser is this block fed from a per-channel register
// file (the channel of an element is its index on the last axis). The zero point `ZP` (one per
// requantiser, in the output range; 0 for a symmetric one) is a parameter. The sum t needs at
// most IN_BITS + 32 bits (|t| < 2^(IN_BITS+30) + 2^32 <= 2^(IN_BITS+31)), so it is exact in
// the PW + 1 = IN_BITS + 33 bit signal of the saturation: no intermediate width saturates.
//
// Interface: valid/ready streaming (AXI-Stream style: a transfer happens on a rising clock edge
// where valid && ready). `in_ready` depends combinationally on `out_ready`.
// Latency: 2 cycles. An element transferred in at clock edge t is on `out_data` with
// `out_valid` high from edge t+1 on, so the earliest output transfer is at edge t+2 (one
// register after the product, one after the shift/round/zero-point/saturate stage).
// Throughput: one element per cycle while `out_ready` is high.
// Reset: synchronous, active high; it clears the valid flags only.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_requant #(
    parameter integer IN_BITS = 32,   // signed input width, 2..32
    parameter integer OUT_BITS = 8,   // output width, 2..32
    parameter integer OUT_SIGNED = 1, // 1: clamp to [-2^(b-1), 2^(b-1)-1]; 0: [0, 2^b - 1]
    parameter integer C_BITS = 8,     // width of the shift port
    parameter signed [63:0] ZP = 64'sd0 // zero point, in the output range (|ZP| < 2^32)
) (
    input  wire                clk,
    input  wire                rst,
    // input stream
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [IN_BITS-1:0]  in_data,   // two's complement
    input  wire [30:0]         in_m,      // multiplier of this element's channel
    input  wire [C_BITS-1:0]   in_c,      // shift of this element's channel
    // output stream
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [OUT_BITS-1:0] out_data   // two's complement (OUT_SIGNED) or unsigned
);

    // Product width: signed IN_BITS times unsigned 31 bits needs IN_BITS + 31 bits; one spare.
    localparam integer PW = IN_BITS + 32;
    // Saturation bounds, one bit wider than the product so that 2^32 - 1 fits at any IN_BITS.
    localparam signed [PW:0] HI = OUT_SIGNED ? ((65'sd1 <<< (OUT_BITS - 1)) - 65'sd1)
                                             : ((65'sd1 <<< OUT_BITS) - 65'sd1);
    localparam signed [PW:0] LO = OUT_SIGNED ? -(65'sd1 <<< (OUT_BITS - 1)) : 65'sd0;
    // The zero point at the saturation's width (PW + 1 >= 35 bits holds any |ZP| < 2^32).
    localparam signed [PW:0] ZPW = ZP;

    // ---------------------------------------------------------------- stage 1: product
    reg                   v1;
    reg signed [PW-1:0]   p1;
    reg [C_BITS-1:0]      c1;

    wire ready2 = !out_valid || out_ready;
    wire ready1 = !v1 || ready2;
    assign in_ready = ready1;

    always @(posedge clk) begin
        if (rst) begin
            v1 <= 1'b0;
        end else if (ready1) begin
            v1 <= in_valid;
            if (in_valid) begin
                p1 <= $signed(in_data) * $signed({1'b0, in_m});
                c1 <= in_c;
            end
        end
    end

    // ---------------------------------------------------------------- stage 2: rne shift, zero point, saturate
    // c >= PW - 1 means 2^(c-1) >= 2^(PW-2) > |p|: |p / 2^c| < 1/2, the result is 0.
    wire                  zero_out = (c1 >= PW - 1);
    wire [C_BITS-1:0]     sh = zero_out ? {C_BITS{1'b0}} : c1;
    wire signed [PW-1:0]  q = p1 >>> sh;                                  // floor(p / 2^c)
    wire [PW-1:0]         rem = p1 & ~({PW{1'b1}} << sh);                 // p - q * 2^c, unsigned
    wire [PW-1:0]         half = {{(PW-1){1'b0}}, 1'b1} << (sh - 1'b1);   // 2^(c-1), used when c >= 1
    wire                  up = (sh != 0) && ((rem > half) || ((rem == half) && q[0]));
    wire signed [PW:0]    y = zero_out ? {(PW+1){1'b0}} : ($signed({q[PW-1], q}) + $signed({{PW{1'b0}}, up}));
    wire signed [PW:0]    t = y + ZPW;
    wire signed [PW:0]    y_sat = (t > HI) ? HI : ((t < LO) ? LO : t);

    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
        end else if (ready2) begin
            out_valid <= v1;
            if (v1)
                out_data <= y_sat[OUT_BITS-1:0];
        end
    end

endmodule
