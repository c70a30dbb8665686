// rm_ivit_layernorm: I-ViT I-LayerNorm over rows of COLS channels, bit-exact with refmodel's
// `ivit.layernorm` op (refmodel/ops/ivit/layernorm.py, docs/ops/ivit.layernorm.md;
// decisions D2, D3, D12, D15):
//
//   SUM   = sum_j X_j
//   MU    = rne_div(SUM, COLS)               round half to even (sequential divider)
//   Y_j   = X_j - MU
//   V     = sum_j Y_j^2
//   k     = K0; ITERS times: k = (k + V div k) >> 1     exactly ITERS Newton steps (D3)
//   STD   = k  (0 -> 1; never reached for ITERS <= 16)
//   F     = NUMERATOR div STD                exact (D2), NUMERATOR = 2^31 - 1
//   YN_j  = (Y_j * F) >>> 1
//   OUT_j = NEG_j ? -(YN_j + BI_j) : YN_j + BI_j
//
// OUT is computed modulo 2^OUT_BITS: the set's OUT_BITS holds the proven range of OUT, so the
// low OUT_BITS bits of every operand give the exact result (BI_j needs only its low OUT_BITS
// bits on `ch_bi`).
//
// Per-channel constants: the block shows the channel of the element it is about to output on
// `ch_idx` and reads BI (`bias_int`) and NEG (`negate`) on `ch_bi` / `ch_neg` in the same
// cycle (a per-channel register file with an asynchronous read port, outside the block).
//
// Schedule of one row (the row buffer is a COLS x IN_BITS register file; one divider, NW bits
// wide, NW = max(SW, VW, 31), serves the mean, the Newton steps and F; each use takes NW + 1
// cycles plus one to set it up):
//   LOAD    COLS cycles            accept X_j (in_ready = 1), running sum
//   MEAN    NW + 1                 |SUM| div COLS, then the rounding
//   VAR     COLS cycles            V, one element per cycle
//   NEWTON  ITERS * (NW + 2)       V div k and the update, one step after the other
//   RECIP   NW + 2                 F
//   EMIT    COLS cycles            one output per cycle while out_ready
// Throughput with no back-pressure: one row per 3 * COLS + (ITERS + 2) * (NW + 3) - 1 cycles
// (1,115 at COLS = 192, IN_BITS = 16, ITERS = 10: NW = 42; measured).
// Shared per row: the divider (ITERS + 2 uses), MU, k, F. Per element: a subtract, a square
// (VAR), an (IN_BITS + 1) x 31 product, an add and a negation (EMIT).
// Reset: synchronous, active high.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_ivit_layernorm #(
    parameter integer COLS = 192,
    parameter integer IN_BITS = 16,     // signed input width
    parameter integer OUT_BITS = 32,    // signed output width
    parameter integer ITERS = 10,       // Newton steps, 1..16
    parameter integer K0 = 65536,       // Newton's start
    parameter integer NUMERATOR = 2147483647
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
    localparam integer KW = ((VW > 17) ? VW : 17) + 1;        // k <= max(2^16, V)
    localparam integer NW0 = (SW > VW) ? SW : VW;
    localparam integer NW = (NW0 > 31) ? NW0 : 31;            // divider numerator
    localparam integer DW = (KW > CW) ? KW : CW;              // divider denominator
    localparam integer PW = YW + 32;                          // Y * F
    localparam integer EW = (PW > OUT_BITS) ? PW : OUT_BITS;

    localparam [2:0] S_LOAD = 3'd0, S_MEAN = 3'd1, S_VAR = 3'd2, S_NSTART = 3'd3, S_NDIV = 3'd4,
                     S_RECIP = 3'd5, S_FDIV = 3'd6, S_EMIT = 3'd7;

    reg [2:0]                state;
    reg [IW-1:0]             idx;
    reg signed [IN_BITS-1:0] row [0:COLS-1];
    reg signed [SW-1:0]      sum;
    reg signed [YW-1:0]      mu;
    reg [VW-1:0]             v;
    reg [KW-1:0]             k;
    reg [4:0]                steps;      // Newton steps left
    reg [30:0]               f;          // <= 2^31 - 1

    wire last_idx = (idx == COLS - 1);
    wire out_free = !out_valid || out_ready;
    assign in_ready = (state == S_LOAD);
    assign ch_idx = idx;

    // ---- shared divider: |SUM| div COLS, V div k (ITERS times), NUMERATOR div STD
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
    wire [VW-1:0]        ysq = y * y;
    wire [VW-1:0]        v_last = v + ysq;
    wire [KW-1:0]        v_div_k = div_q;                   // V div k <= V < 2^VW
    wire [KW:0]          k_sum = k + v_div_k;
    wire signed [PW-1:0] yf = y * $signed({1'b0, f});
    wire signed [EW-1:0] yn = yf >>> 1;
    wire [OUT_BITS-1:0]  o = yn[OUT_BITS-1:0] + ch_bi;
    wire [OUT_BITS-1:0]  o_signed = ch_neg ? -o : o;

    always @(posedge clk) begin
        div_start <= 1'b0;
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
                        k <= K0;
                        steps <= ITERS;
                        state <= S_NSTART;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_NSTART: begin
                    div_num <= v;
                    div_den <= k;
                    div_start <= 1'b1;
                    state <= S_NDIV;
                end
                S_NDIV: if (div_done) begin
                    k <= k_sum[KW:1];
                    steps <= steps - 1'b1;
                    state <= (steps == 1) ? S_RECIP : S_NSTART;
                end
                S_RECIP: begin
                    div_num <= NUMERATOR;
                    div_den <= (k == 0) ? {{(KW-1){1'b0}}, 1'b1} : k;
                    div_start <= 1'b1;
                    state <= S_FDIV;
                end
                S_FDIV: if (div_done) begin
                    f <= div_q[30:0];
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
