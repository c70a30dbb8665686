// rm_lut_layernorm: integer LayerNorm with a reciprocal-square-root table over rows of COLS
// channels, bit-exact with refmodel's `lut.layernorm` op (refmodel/ops/lut/layernorm.py,
// docs/ops/lut.layernorm.md; decisions D2, D3, D8, D12, D15):
//
//   SUM   = sum_j X_j
//   MU    = rne_div(SUM, COLS)               round half to even (sequential divider)
//   Y_j   = X_j - MU
//   V     = sum_j (Y_j >>> SHIFT)^2;  0 -> 1 (D8; the encoder below treats 0 as 1)
//   L     = bit_length(V) - 1;  e = L >> 1;  p = L & 1
//   f     = the K - 1 bits of V below its leading one (zero-padded when L < K - 1)
//   T     = table[p * 2^(K-1) + f]           in [2^29, 2^30)
//   YN_j  = rne_shift(Y_j * T, e + SHIFT)    round half to even
//   OUT_j = NEG_j ? -(YN_j + BI_j) : YN_j + BI_j      (NEG_j = 1 where gamma_sign_j = -1)
//
// The mean and the variance are those of rm_ibert_layernorm. L, p and f come from one
// priority encoder and one left shift that puts V's leading one at the top of a
// (VW + K)-bit word: the K bits from there are p followed by f. OUT is computed modulo
// 2^OUT_BITS: the set's OUT_BITS holds the proven range of OUT, so the low OUT_BITS bits of
// every operand give the exact result (BI_j needs only its low OUT_BITS bits on `ch_bi`).
//
// The table (2^K unsigned 30-bit entries: the set's cfg_table.hex) is a register file inside
// the block, loaded through the write port `tbl_we`, `tbl_addr`, `tbl_wdata` before the stream
// starts (a synchronous write, independent of `rst`): the register values a chip loads with
// its configuration. Per-channel constants: the block shows the channel of the element it is
// about to output on `ch_idx` and reads BI and NEG on `ch_bi` / `ch_neg` in the same cycle (a
// per-channel register file with an asynchronous read port, outside the block).
//
// Schedule of one row (the row buffer is a COLS x IN_BITS register file):
//   LOAD  COLS cycles   accept X_j (in_ready = 1), running sum
//   MEAN  SW + 2        |SUM| div COLS on the divider (SW = sum width), then the rounding
//   VAR   COLS cycles   V, one element per cycle
//   NORM  1 cycle       leading one, table read: T and the shift e + SHIFT
//   EMIT  COLS cycles   one output per cycle while out_ready
// Latency (clock edges, out_ready high): from the edge that takes the row's last input to the
// first output transfer, COLS + SW + 5 edges (222 at COLS = 192, IN_BITS = 16: SW = 25).
// Throughput with no back-pressure: one row per 3 * COLS + SW + 3 cycles (604 at COLS = 192,
// IN_BITS = 16; measured by refmodel.cost).
// Shared per row: the divider (once), MU, the leading one and the table read (once). Per
// element: a subtract, a square (VAR), an (IN_BITS + 1) x 31 product, a variable rounding
// shift, an add and a negation (EMIT).
// Reset: synchronous, active high (not the table).
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_lut_layernorm #(
    parameter integer COLS = 192,
    parameter integer IN_BITS = 16,     // signed input width, 2..32
    parameter integer OUT_BITS = 32,    // signed output width
    parameter integer SHIFT = 0,        // pre-shift before squaring, 0..31
    parameter integer K = 8             // table index bits (the op's table_bits), 1..16
) (
    input  wire                clk,
    input  wire                rst,
    // table write port (configuration)
    input  wire                tbl_we,
    input  wire [K-1:0]        tbl_addr,
    input  wire [29:0]         tbl_wdata,  // unsigned, in [2^29, 2^30)
    // input stream
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [IN_BITS-1:0]  in_data,   // two's complement
    // output stream
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [OUT_BITS-1:0] out_data,  // two's complement
    output reg                 out_last,  // with the last element of a row
    // per-channel constants
    output wire [((COLS > 1) ? $clog2(COLS) : 1)-1:0] ch_idx,  // channel of the next output
    input  wire [OUT_BITS-1:0] ch_bi,     // BI of channel ch_idx (low OUT_BITS bits)
    input  wire                ch_neg     // 1 where gamma of channel ch_idx is negative
);

    localparam integer IW = (COLS > 1) ? $clog2(COLS) : 1;
    localparam integer CW = $clog2(COLS + 1);                 // COLS as a divisor
    localparam integer SW = IN_BITS + CW + 1;                 // signed SUM
    localparam integer YW = IN_BITS + 1;                      // Y
    localparam integer VW = 2 * YW + CW;                      // V
    localparam integer LB = $clog2(VW);                       // L
    localparam integer NW = VW + K;                           // V normalised (leading one on top)
    localparam integer HW = 7;                                // e + SHIFT <= 30 + 31
    localparam integer PW = YW + 31;                          // Y * T
    localparam integer QW = ((PW > 63) ? PW : 63) + 1;        // the rounding, any shift <= 62
    localparam integer EW = (QW > OUT_BITS) ? QW : OUT_BITS;

    localparam [CW-1:0] COLS_D = COLS;

    localparam [2:0] S_LOAD = 3'd0, S_MEAN = 3'd1, S_VAR = 3'd2, S_NORM = 3'd3, S_EMIT = 3'd4;

    reg [29:0]               tbl [0:(1 << K)-1];

    always @(posedge clk) begin
        if (tbl_we)
            tbl[tbl_addr] <= tbl_wdata;
    end

    reg [2:0]                state;
    reg [IW-1:0]             idx;
    reg signed [IN_BITS-1:0] row [0:COLS-1];
    reg signed [SW-1:0]      sum;
    reg signed [YW-1:0]      mu;
    reg [VW-1:0]             v;
    reg [29:0]               t;          // T
    reg [HW-1:0]             sh;         // e + SHIFT

    wire last_idx = (idx == COLS - 1);
    wire out_free = !out_valid || out_ready;
    assign in_ready = (state == S_LOAD);
    assign ch_idx = idx;

    // ---- divider: |SUM| div COLS
    reg                 div_start;
    wire                div_busy, div_done;
    wire [SW-1:0]       div_q;
    wire [CW-1:0]       div_r;
    reg  [SW-1:0]       div_num;
    rm_udiv #(.NW(SW), .DW(CW)) u_div (
        .clk(clk), .rst(rst), .start(div_start), .num(div_num), .den(COLS_D),
        .busy(div_busy), .done(div_done), .quo(div_q), .rem(div_r)
    );

    // ---- LOAD: the sum including the element being taken
    wire signed [SW-1:0] sum_in = sum + $signed(in_data);
    wire [SW-1:0]        sum_abs = sum_in[SW-1] ? -sum_in : sum_in;

    // ---- MEAN: rne_div(SUM, COLS) from |SUM| = Q * COLS + R
    wire signed [SW:0]   q_pos = {1'b0, div_q};
    wire [CW:0]          r_mag = div_r;
    wire                 neg_sum = sum[SW-1];
    wire signed [SW:0]   qf = !neg_sum ? q_pos : ((r_mag == 0) ? -q_pos : -q_pos - 1);
    wire [CW:0]          rf = (!neg_sum || r_mag == 0) ? r_mag : COLS - r_mag;
    wire [CW+1:0]        r2 = {rf, 1'b0};
    wire                 round_up_mu = (r2 > COLS) || ((r2 == COLS) && qf[0]);
    wire signed [SW:0]   mu_full = qf + round_up_mu;

    // ---- VAR / EMIT: the element at idx
    wire signed [YW-1:0] y = $signed(row[idx]) - mu;
    wire signed [YW-1:0] ys = y >>> SHIFT;
    wire [VW-1:0]        ysq = ys * ys;

    // ---- NORM: leading one of V, table index {p, f}. V = 0 needs no replacement: the
    // encoder then gives L = 0 and the normalised word is 0, so the index is 0 and the shift
    // SHIFT, exactly those of V = 1.
    reg  [LB-1:0]        lead;
    integer              b;
    always @* begin
        lead = {LB{1'b0}};
        for (b = 0; b < VW; b = b + 1)
            if (v[b])
                lead = b;
    end
    wire [NW-1:0]        vn = {v, {K{1'b0}}} << (VW - 1 - lead);   // leading one at bit NW-1
    wire [NW-1:0]        pf = {lead[0], vn[NW-2:0]};               // p, then the bits below the one
    wire [K-1:0]         tidx = pf[NW-1 -: K];
    wire [HW-1:0]        sh_next = (lead >> 1) + SHIFT;

    // ---- EMIT: YN = rne_shift(Y * T, sh), OUT = +-(YN + BI)
    wire signed [PW-1:0] yt = y * $signed({1'b0, t});
    wire signed [QW-1:0] yq = yt;
    wire signed [QW-1:0] qfl = yq >>> sh;                            // floor
    wire [QW-1:0]        unit = {{(QW-1){1'b0}}, 1'b1} << sh;        // 2^sh
    wire [QW-1:0]        rem = yq & (unit - 1'b1);                   // yq - qfl * 2^sh
    wire [QW-1:0]        half = unit >> 1;
    wire                 round_up = (sh != 0) && ((rem > half) || ((rem == half) && qfl[0]));
    wire signed [EW-1:0] yn = qfl + $signed({1'b0, round_up});
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
                    v <= v + ysq;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        state <= S_NORM;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_NORM: begin
                    t <= tbl[tidx];
                    sh <= sh_next;
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
