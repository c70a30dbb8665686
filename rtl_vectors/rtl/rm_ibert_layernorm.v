// rm_ibert_layernorm: I-BERT integer LayerNorm over rows of COLS channels, bit-exact with
// refmodel's `ibert.layernorm` op (refmodel/ops/ibert/layernorm.py,
// docs/ops/ibert.layernorm.md; decisions D2, D3, D8, D12, D15):
//
//   SUM   = sum_j X_j
//   MU    = rne_div(SUM, COLS)               round half to even (sequential divider)
//   Y_j   = X_j - MU
//   V     = sum_j (Y_j >>> SHIFT)^2
//   STD   = isqrt(V) << SHIFT;  0 -> 1       exact root (rm_isqrt)
//   F     = 2^31 div STD                     exact (sequential divider)
//   YN_j  = (Y_j * F) >>> 1
//   OUT_j = NEG_j ? -(YN_j + BI_j) : YN_j + BI_j      (NEG_j = 1 where gamma_sign_j = -1)
//
// OUT is computed modulo 2^OUT_BITS: the set's OUT_BITS holds the proven range of OUT, so the
// low OUT_BITS bits of every operand give the exact result (BI_j needs only its low OUT_BITS
// bits on `ch_bi`).
//
// Per-channel constants: the block shows the channel of the element it is about to output on
// `ch_idx` and reads BI and NEG on `ch_bi` / `ch_neg` in the same cycle (a per-channel register
// file with an asynchronous read port, outside the block).
//
// Schedule of one row (the row buffer is a COLS x IN_BITS register file):
//   LOAD  COLS cycles   accept X_j (in_ready = 1), running sum
//   MEAN  NW + 2        |SUM| div COLS on the shared divider (NW = max(SW, 32), SW = sum
//                       width), then the rounding
//   VAR   COLS cycles   V, one element per cycle
//   SQRT  RW + 2        isqrt(V), RW = ceil(VW / 2) (VW = width of V)
//   RECIP NW + 3        F on the shared divider
//   EMIT  COLS cycles   one output per cycle while out_ready
// Throughput with no back-pressure: one row per 3 * COLS + 2 * NW + RW + 7 cycles (668 at
// COLS = 192, IN_BITS = 16: NW = 32, RW = 21; measured).
// Shared per row: the divider (used twice), the square root, MU, F. Per element: a subtract,
// a square (VAR), an (IN_BITS + 1) x 32 product, an add and a negation (EMIT).
// Reset: synchronous, active high.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_ibert_layernorm #(
    parameter integer COLS = 192,
    parameter integer IN_BITS = 16,     // signed input width
    parameter integer OUT_BITS = 32,    // signed output width
    parameter integer SHIFT = 0         // pre-shift before squaring, 0..31
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [IN_BITS-1:0]  in_data,   // two's complement
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [OUT_BITS-1:0] out_data,  // two's complement
    output reg                 out_last,  // with the last element of a row
    output wire [((COLS > 1) ? $clog2(COLS) : 1)-1:0] ch_idx,  // channel of the next output
    input  wire [OUT_BITS-1:0] ch_bi,     // BI of channel ch_idx (low OUT_BITS bits)
    input  wire                ch_neg     // 1 where gamma of channel ch_idx is negative
);

    localparam integer IW = (COLS > 1) ? $clog2(COLS) : 1;
    localparam integer CW = $clog2(COLS + 1);                 // COLS as a divisor
    localparam integer SW = IN_BITS + CW + 1;                 // signed SUM
    localparam integer YW = IN_BITS + 1;                      // Y
    localparam integer VW = 2 * YW + CW;                      // V
    localparam integer RW = (VW + 1) / 2;                     // isqrt(V)
    localparam integer TW = RW + SHIFT;                       // STD
    localparam integer NW = (SW > 32) ? SW : 32;              // divider numerator
    localparam integer DW = (TW > CW) ? TW : CW;              // divider denominator
    localparam integer PW = YW + 33;                          // Y * F
    localparam integer EW = (PW > OUT_BITS) ? PW : OUT_BITS;

    localparam [2:0] S_LOAD = 3'd0, S_MEAN = 3'd1, S_VAR = 3'd2, S_SQRT = 3'd3,
                     S_RECIP = 3'd4, S_FDIV = 3'd5, S_EMIT = 3'd6;

    reg [2:0]                state;
    reg [IW-1:0]             idx;
    reg signed [IN_BITS-1:0] row [0:COLS-1];
    reg signed [SW-1:0]      sum;
    reg signed [YW-1:0]      mu;
    reg [VW-1:0]             v;
    reg [TW-1:0]             std;
    reg [31:0]               f;          // <= 2^31

    wire last_idx = (idx == COLS - 1);
    wire out_free = !out_valid || out_ready;
    assign in_ready = (state == S_LOAD);
    assign ch_idx = idx;

    // ---- shared divider: |SUM| div COLS, then 2^31 div STD
    reg                 div_start;
    reg  [NW-1:0]       div_num;
    reg  [DW-1:0]       div_den;
    wire                div_busy, div_done;
    wire [NW-1:0]       div_q;
    wire [DW-1:0]       div_r;
    rm_udiv #(.NW(NW), .DW(DW)) u_div (
        .clk(clk), .rst(rst), .start(div_start), .num(div_num), .den(div_den),
        .busy(div_busy), .done(div_done), .quo(div_q), .rem(div_r)
    );

    // ---- square root
    wire                sq_busy, sq_done;
    wire [RW-1:0]       sq_root;
    wire [VW-1:0]       v_last;
    reg                 sq_start;
    rm_isqrt #(.VW(VW)) u_sqrt (
        .clk(clk), .rst(rst), .start(sq_start), .v(v), .busy(sq_busy), .done(sq_done), .root(sq_root)
    );

    // ---- LOAD: the sum including the element being taken
    wire signed [SW-1:0] sum_in = sum + $signed(in_data);
    wire [SW-1:0]        sum_abs = sum_in[SW-1] ? -sum_in : sum_in;

    // ---- MEAN: rne_div(SUM, COLS) from |SUM| = Q * COLS + R
    wire signed [SW:0]   q_pos = {1'b0, div_q[SW-1:0]};
    wire [DW:0]          r_mag = div_r;
    wire                 neg_sum = sum[SW-1];
    wire signed [SW:0]   qf = !neg_sum ? q_pos : ((r_mag == 0) ? -q_pos : -q_pos - 1);
    wire [DW:0]          rf = (!neg_sum || r_mag == 0) ? r_mag : COLS - r_mag;
    wire [DW+1:0]        r2 = {rf, 1'b0};
    wire                 round_up = (r2 > COLS) || ((r2 == COLS) && qf[0]);
    wire signed [SW:0]   mu_full = qf + round_up;

    // ---- VAR / EMIT: the element at idx
    wire signed [YW-1:0] y = $signed(row[idx]) - mu;
    wire signed [YW-1:0] ys = y >>> SHIFT;
    wire [VW-1:0]        ysq = ys * ys;
    assign v_last = v + ysq;

    wire [TW-1:0]        root_w = sq_root;
    wire [TW-1:0]        std_raw = root_w << SHIFT;
    wire signed [PW-1:0] yf = y * $signed({1'b0, f});
    wire signed [EW-1:0] yn = yf >>> 1;
    wire [OUT_BITS-1:0]  o = yn[OUT_BITS-1:0] + ch_bi;
    wire [OUT_BITS-1:0]  o_signed = ch_neg ? -o : o;

    always @(posedge clk) begin
        div_start <= 1'b0;
        sq_start <= 1'b0;
        if (rst) begin
            state <= S_LOAD;
            idx <= {IW{1'b0}};
            sum <= {SW{1'b0}};
            out_valid <= 1'b0;
            out_last <= 1'b0;
        end else begin
            if (out_valid && out_ready)
                out_valid <= 1'b0;
            case (state)
                S_LOAD: if (in_valid) begin
                    row[idx] <= in_data;
                    sum <= sum_in;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        div_num <= sum_abs;
                        div_den <= COLS;
                        div_start <= 1'b1;
                        state <= S_MEAN;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_MEAN: if (div_done) begin
                    mu <= mu_full[YW-1:0];
                    v <= {VW{1'b0}};
                    state <= S_VAR;
                end
                S_VAR: begin
                    v <= v_last;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        sq_start <= 1'b1;
                        state <= S_SQRT;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_SQRT: if (sq_done) begin
                    std <= (sq_root == 0) ? {{(TW-1){1'b0}}, 1'b1} : std_raw;
                    state <= S_RECIP;
                end
                S_RECIP: begin
                    div_num <= 32'h80000000;
                    div_den <= std;
                    div_start <= 1'b1;
                    state <= S_FDIV;
                end
                S_FDIV: if (div_done) begin
                    f <= div_q[31:0];
                    state <= S_EMIT;
                end
                S_EMIT: if (out_free) begin
                    out_valid <= 1'b1;
                    out_data <= o_signed;
                    out_last <= last_idx;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        sum <= {SW{1'b0}};
                        state <= S_LOAD;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
            endcase
        end
    end

endmodule
