// rm_requant_wide: dyadic requantiser of an accumulator wider than 32 bits (up to 63), bit-exact
// with refmodel's `requant_wide` op (refmodel/ops/requant_wide.py, docs/ops/requant_wide.md;
// decisions D5, D6, D12). The rule is `requant`'s on a wider input:
//
//   p   = z * m                         exact signed product, up to IN_BITS + 31 bits (94)
//   y   = rne_shift(p, c)               round half to even of p / 2^c, on the exact product
//   out = saturate(y, OUT_BITS, OUT_SIGNED)
//
// The product is formed from two partial products, as the op's Numba kernel splits it:
// z = zh * 2^32 + zl with 0 <= zl < 2^32 (zh signed, IN_BITS - 32 bits, or the sign for a
// narrow z), so p = (zh * m) * 2^32 + zl * m: a 32 x 31 unsigned and a (IN_BITS-32) x 31
// signed multiplier in stage 1, one adder in stage 2, the shift / round / saturate of
// rm_requant in stage 3. `m` (31-bit unsigned; 2^30 <= m < 2^31 for refmodel's constants) and
// `c` (unsigned shift; the op's constants have c >= 31, but any c is handled: a shift of
// PW - 1 or more gives 0 since |p| < 2^(PW-2)) travel with each element, so a per-channel
// requantiser is this block fed from a per-channel register file (the channel of an element
// is its index on the last axis).
//
// Interface: valid/ready streaming (AXI-Stream style: a transfer happens on a rising clock edge
// where valid && ready). `in_ready` depends combinationally on `out_ready`.
// Latency: 3 cycles. An element transferred in at clock edge t is on `out_data` with
// `out_valid` high from edge t+2 on, so the earliest output transfer is at edge t+3 (partial
// products; their sum; shift, round, saturate). Throughput: one element per cycle while
// `out_ready` is high. Nothing is shared between elements.
// Reset: synchronous, active high; it clears the valid flags only.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_requant_wide #(
    parameter integer IN_BITS = 63,   // signed input width, 2..63
    parameter integer OUT_BITS = 8,   // output width, 2..32
    parameter integer OUT_SIGNED = 1, // 1: clamp to [-2^(b-1), 2^(b-1)-1]; 0: [0, 2^b - 1]
    parameter integer C_BITS = 8      // width of the shift port
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

    // High part of z: IN_BITS - 32 bits, or one (the sign) for IN_BITS <= 32.
    localparam integer HW = (IN_BITS > 32) ? IN_BITS - 32 : 1;
    // Product width: zh * m needs HW + 31 bits, shifted by 32; one spare (PW = IN_BITS + 32
    // for IN_BITS > 32, at most 95).
    localparam integer PW = HW + 64;
    // Saturation bounds, one bit wider than the product.
    localparam signed [PW:0] HI = OUT_SIGNED ? ((97'sd1 <<< (OUT_BITS - 1)) - 97'sd1)
                                             : ((97'sd1 <<< OUT_BITS) - 97'sd1);
    localparam signed [PW:0] LO = OUT_SIGNED ? -(97'sd1 <<< (OUT_BITS - 1)) : 97'sd0;

    // z sign-extended to 96 bits, split at bit 32.
    wire [95:0]            zx = {{(96 - IN_BITS){in_data[IN_BITS-1]}}, in_data};
    wire [31:0]            zl = zx[31:0];
    wire signed [HW-1:0]   zh = zx[32 + HW - 1:32];

    wire ready3 = !out_valid || out_ready;
    reg  v2;
    wire ready2 = !v2 || ready3;
    reg  v1;
    wire ready1 = !v1 || ready2;
    assign in_ready = ready1;

    // ---------------------------------------------------------------- stage 1: partial products
    reg signed [HW+31:0]  ph1;     // zh * m, signed
    reg [62:0]            pl1;     // zl * m, unsigned, < 2^63
    reg [C_BITS-1:0]      c1;

    always @(posedge clk) begin
        if (rst) begin
            v1 <= 1'b0;
        end else if (ready1) begin
            v1 <= in_valid;
            if (in_valid) begin
                ph1 <= zh * $signed({1'b0, in_m});
                pl1 <= zl * in_m;
                c1 <= in_c;
            end
        end
    end

    // ---------------------------------------------------------------- stage 2: p = ph * 2^32 + pl
    reg signed [PW-1:0]   p2;
    reg [C_BITS-1:0]      c2;

    always @(posedge clk) begin
        if (rst) begin
            v2 <= 1'b0;
        end else if (ready2) begin
            v2 <= v1;
            if (v1) begin
                p2 <= $signed({ph1, 32'd0}) + $signed({{(PW - 63){1'b0}}, pl1});
                c2 <= c1;
            end
        end
    end

    // ---------------------------------------------------------------- stage 3: rne shift, saturate
    // c >= PW - 1 means 2^(c-1) >= 2^(PW-2) > |p|: |p / 2^c| < 1/2, the result is 0.
    wire                  zero_out = (c2 >= PW - 1);
    wire [C_BITS-1:0]     sh = zero_out ? {C_BITS{1'b0}} : c2;
    wire signed [PW-1:0]  q = p2 >>> sh;                                  // floor(p / 2^c)
    wire [PW-1:0]         rem = p2 & ~({PW{1'b1}} << sh);                 // p - q * 2^c, unsigned
    wire [PW-1:0]         half = {{(PW-1){1'b0}}, 1'b1} << (sh - 1'b1);   // 2^(c-1), used when c >= 1
    wire                  up = (sh != 0) && ((rem > half) || ((rem == half) && q[0]));
    wire signed [PW:0]    y = zero_out ? {(PW+1){1'b0}} : ($signed({q[PW-1], q}) + $signed({{PW{1'b0}}, up}));
    wire signed [PW:0]    y_sat = (y > HI) ? HI : ((y < LO) ? LO : y);

    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
        end else if (ready3) begin
            out_valid <= v2;
            if (v2)
                out_data <= y_sat[OUT_BITS-1:0];
        end
    end

endmodule
