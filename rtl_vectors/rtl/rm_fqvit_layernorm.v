// rm_fqvit_layernorm: FQ-ViT LayerNorm on PTF inputs, integer only, over rows of COLS
// channels; bit-exact with refmodel's `fqvit.layernorm` op, its output and its per-element
// datapath values M, N, B (refmodel/ops/fqvit/layernorm.py, docs/ops/fqvit.layernorm.md;
// decisions D3, D8, D9, D12):
//
// per row:      Xs_c = (q_c - ZP) << a_c
//               Sx = sum Xs, Sxx = sum Xs^2, D = COLS * Sxx - Sx^2
//               k = (62 - bitlen(D)) >> 1, s = isqrt(D << 2k)      (rm_isqrt, 31 steps)
//               qs = Sx div COLS (floor), rs = Sx - COLS * qs      (rm_udiv)
// per element:  l = k - c - (m < s)
//   (channel    D = 0: M = 0, N = 0;  l >= 8: M = 255, N = 0;  else N = min(7 - l, 31),
//    registers  e = k - c + N, M = (m << e) div s if e >= 0 else 0  (M <= 255: 8 unrolled
//    m, c, sgn, restoring stages against s << 7 .. s << 0)
//    bias, a)   Vb = floor(bias * 2^(N - c + 1)), vi = Vb >>> 23, vf = Vb mod 2^23
//               B  = vi - sgn M qs + floor((vf COLS - sgn M rs 2^23 + COLS 2^22) / (COLS 2^23))
//               OUT = rne_shift(sgn M Xs + B, N)                  round half to even
//
// The last division: floor(t / (COLS 2^23)) = floor(floor(t / 2^23) / COLS), and
// floor(t / 2^23) = T1 - sgn M rs with T1 = (COLS (vf + 2^22)) >> 23 in [0, 1.5 COLS), so
// the dividend lies in (-256 COLS, 257 COLS): adding 256 COLS makes it positive and the
// quotient fits 10 bits (10 unrolled restoring stages against the constants COLS << i).
//
// Per-channel registers: the block shows the channel it works on on `ch_idx` (the element
// being loaded in LOAD, the element being output in EMIT) and reads gain_m, gain_c, sign,
// bias and the PTF shift in the same cycle (a per-channel register file with an asynchronous
// read port, outside the block). `dp_m`, `dp_n`, `dp_b` carry each output's M, N, B with it.
//
// Schedule of one row (the row buffer is a COLS x IN_BITS register file):
//   LOAD   COLS cycles   accept q_c (in_ready = 1), Sx and Sxx
//   MEAN   SXW + 1       |Sx| div COLS, then the floor correction (SXW = width of Sx)
//   STAT   2 cycles      D; then k and D << 2k
//   SQRT   32 cycles     s
//   EMIT   COLS cycles   one output per cycle while out_ready (the per-element path is
//                        combinational: mantissa divider, bias shifts and divider, rounding)
// Shared per row: Sx, Sxx, D, k, s, qs, rs and the two sequential units. Per element: the
// exponent, an 8-stage mantissa divider, a bias barrel shifter, a 10-stage divider by the
// constant COLS, an 8 x (IN_BITS + 4) product and the rounding shift.
// Reset: synchronous, active high.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_fqvit_layernorm #(
    parameter integer COLS = 192,
    parameter integer IN_BITS = 8,      // unsigned input width, 2..16
    parameter integer OUT_BITS = 11,    // signed output width
    parameter integer ZP = 128          // zero point
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [IN_BITS-1:0]  in_data,   // unsigned
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [OUT_BITS-1:0] out_data,  // two's complement
    output reg                 out_last,  // with the last element of a row
    output reg  [7:0]          dp_m,      // M, N, B of the output on out_data
    output reg  [4:0]          dp_n,
    output reg  [63:0]         dp_b,
    output wire [((COLS > 1) ? $clog2(COLS) : 1)-1:0] ch_idx,
    input  wire [30:0]         ch_gain_m, // channel ch_idx: 2^30 <= m < 2^31
    input  wire [15:0]         ch_gain_c, // two's complement
    input  wire                ch_neg,    // 1: sign = -1
    input  wire [63:0]         ch_bias,   // two's complement, |bias| < 2^61
    input  wire [1:0]          ch_shift   // PTF shift a_c, 0..3
);

    localparam integer IW = (COLS > 1) ? $clog2(COLS) : 1;
    localparam integer CW = $clog2(COLS + 1);
    localparam integer XW = IN_BITS + 4;                  // Xs
    localparam integer SXW = XW + CW;                     // Sx
    localparam integer SQW = 2 * XW + CW;                 // Sxx
    localparam integer DDW = SQW + CW;                    // COLS * Sxx, D
    localparam signed [63:0] C64 = COLS;

    localparam [2:0] S_LOAD = 3'd0, S_MEAN = 3'd1, S_D = 3'd2, S_NORM = 3'd3, S_SQRT = 3'd4,
                     S_EMIT = 3'd5;

    reg [2:0]                state;
    reg [IW-1:0]             idx;
    reg [IN_BITS-1:0]        row [0:COLS-1];
    reg signed [SXW-1:0]     sx;
    reg [SQW-1:0]            sxx;
    reg [DDW-1:0]            d;
    reg [4:0]                k;
    reg [61:0]               dn;
    reg [30:0]               s;
    reg signed [SXW:0]       qs;
    reg [CW-1:0]             rs;

    wire last_idx = (idx == COLS - 1);
    wire out_free = !out_valid || out_ready;
    assign in_ready = (state == S_LOAD);
    assign ch_idx = idx;

    // ---- Xs of the element being loaded (LOAD) or output (EMIT)
    wire [IN_BITS-1:0]       q_cur = (state == S_LOAD) ? in_data : row[idx];
    wire signed [XW-1:0]     xc = $signed({1'b0, q_cur}) - ZP;
    wire signed [XW-1:0]     xs = xc <<< ch_shift;
    wire signed [SXW-1:0]    sx_in = sx + xs;
    wire signed [SQW:0]      xsq = xs * xs;
    wire [SQW-1:0]           sxx_in = sxx + xsq[SQW-1:0];
    wire [SXW-1:0]           sx_abs = sx_in[SXW-1] ? -sx_in : sx_in;

    // ---- mean: |Sx| = Q COLS + R
    reg                      div_start;
    reg  [SXW-1:0]           div_num;
    wire                     div_busy, div_done;
    wire [SXW-1:0]           div_q;
    wire [CW-1:0]            div_r;
    rm_udiv #(.NW(SXW), .DW(CW)) u_div (
        .clk(clk), .rst(rst), .start(div_start), .num(div_num), .den(COLS[CW-1:0]),
        .busy(div_busy), .done(div_done), .quo(div_q), .rem(div_r)
    );
    wire signed [SXW:0]      q_pos = {1'b0, div_q};
    wire signed [SXW:0]      qs_next = !sx[SXW-1] ? q_pos : ((div_r == 0) ? -q_pos : -q_pos - 1);
    wire [CW-1:0]            rs_next = (!sx[SXW-1] || div_r == 0) ? div_r : COLS - div_r;

    // ---- D, k, D << 2k
    wire signed [2*SXW-1:0]  sx2 = sx * sx;
    wire signed [DDW:0]      d_full = C64 * $signed({1'b0, sxx}) - sx2;
    reg  [6:0]               blen;
    integer                  b;
    always @* begin
        blen = 7'd0;
        for (b = 0; b < DDW; b = b + 1)
            if (d[b])
                blen = b + 1;
    end
    wire [6:0]               k_next = (7'd62 - blen) >> 1;
    wire [125:0]             dn_wide = {{(126 - DDW){1'b0}}, d} << {k_next, 1'b0};

    // ---- square root
    reg                      sq_start;
    wire                     sq_busy, sq_done;
    wire [30:0]              sq_root;
    rm_isqrt #(.VW(62)) u_sqrt (
        .clk(clk), .rst(rst), .start(sq_start), .v(dn), .busy(sq_busy), .done(sq_done), .root(sq_root)
    );

    // ---- per element: M, N
    wire signed [15:0]       gc = ch_gain_c;
    wire signed [15:0]       kc = $signed({11'd0, k}) - gc;                 // k - c
    wire signed [15:0]       l = kc - ((ch_gain_m < s) ? 16'sd1 : 16'sd0);
    wire signed [15:0]       n_raw = 16'sd7 - l;
    wire                     var_zero = (d == 0);
    wire                     m_sat = !var_zero && (l >= 16'sd8);
    wire [4:0]               n_el = (var_zero || m_sat) ? 5'd0 : ((n_raw > 16'sd31) ? 5'd31 : n_raw[4:0]);
    wire signed [15:0]       e = kc + $signed({11'd0, n_el});               // <= 8
    // M = (m << e) div s < 256: restoring, quotient bits 7 .. 0
    reg  [39:0]              mrem;
    reg  [7:0]               mq;
    integer                  i;
    always @* begin
        mrem = {9'd0, ch_gain_m} << e[3:0];
        for (i = 7; i >= 0; i = i - 1) begin
            if (mrem >= ({9'd0, s} << i)) begin
                mrem = mrem - ({9'd0, s} << i);
                mq[i] = 1'b1;
            end else begin
                mq[i] = 1'b0;
            end
        end
    end
    wire [7:0]               m_el = var_zero ? 8'd0 : (m_sat ? 8'd255 : ((e < 0) ? 8'd0 : mq));

    // ---- per element: B
    wire signed [15:0]       tb = $signed({11'd0, n_el}) - gc + 16'sd1;     // N - c + 1
    wire signed [63:0]       bias = ch_bias;
    wire [5:0]               tl = (tb > 16'sd63) ? 6'd63 : tb[5:0];
    wire [5:0]               tr = (tb < -16'sd63) ? 6'd63 : (-tb);
    wire signed [63:0]       vb = (tb >= 0) ? (bias <<< tl) : (bias >>> tr);
    wire signed [63:0]       vi = vb >>> 23;
    wire [22:0]              vf = vb[22:0];
    wire [CW+23:0]           t1 = (COLS * ({1'b0, vf} + 24'h400000)) >> 23;  // [0, 1.5 COLS)
    wire signed [9:0]        m_s = ch_neg ? -$signed({2'b00, m_el}) : $signed({2'b00, m_el});   // sgn M
    wire signed [CW+10:0]    m_rs = m_s * $signed({1'b0, rs});
    wire signed [SXW+10:0]   m_qs = m_s * qs;
    wire signed [XW+9:0]     m_xs = m_s * xs;
    wire signed [63:0]       t_pos = $signed({40'd0, t1}) - m_rs + 256 * C64;  // (0, 513 COLS)
    reg  [63:0]              trem;
    reg  [9:0]               tq;
    integer                  j;
    always @* begin
        trem = t_pos;
        for (j = 9; j >= 0; j = j - 1) begin
            if (trem >= (C64 << j)) begin
                trem = trem - (C64 << j);
                tq[j] = 1'b1;
            end else begin
                tq[j] = 1'b0;
            end
        end
    end
    wire signed [63:0]       b_el = vi - m_qs + ($signed({54'd0, tq}) - 64'sd256);

    // ---- per element: OUT = rne_shift(sgn M Xs + B, N)
    wire signed [63:0]       acc = m_xs + b_el;
    wire signed [63:0]       tfl = acc >>> n_el;
    wire [63:0]              rem = acc - (tfl <<< n_el);                    // [0, 2^N)
    wire [63:0]              half = (n_el == 0) ? 64'd0 : (64'd1 << (n_el - 1'b1));
    wire                     up = (n_el != 0) && ((rem > half) || ((rem == half) && tfl[0]));
    wire signed [63:0]       o = tfl + up;

    always @(posedge clk) begin
        div_start <= 1'b0;
        sq_start <= 1'b0;
        if (rst) begin
            state <= S_LOAD;
            idx <= {IW{1'b0}};
            sx <= {SXW{1'b0}};
            sxx <= {SQW{1'b0}};
            out_valid <= 1'b0;
            out_last <= 1'b0;
        end else begin
            if (out_valid && out_ready)
                out_valid <= 1'b0;
            case (state)
                S_LOAD: if (in_valid) begin
                    row[idx] <= in_data;
                    sx <= sx_in;
                    sxx <= sxx_in;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        div_num <= sx_abs;
                        div_start <= 1'b1;
                        state <= S_MEAN;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_MEAN: if (div_done) begin
                    qs <= qs_next;
                    rs <= rs_next;
                    state <= S_D;
                end
                S_D: begin
                    d <= d_full[DDW-1:0];
                    state <= S_NORM;
                end
                S_NORM: begin
                    k <= k_next[4:0];
                    dn <= dn_wide[61:0];
                    sq_start <= 1'b1;
                    state <= S_SQRT;
                end
                S_SQRT: if (sq_done) begin
                    s <= sq_root;
                    state <= S_EMIT;
                end
                S_EMIT: if (out_free) begin
                    out_valid <= 1'b1;
                    out_data <= o[OUT_BITS-1:0];
                    dp_m <= m_el;
                    dp_n <= n_el;
                    dp_b <= b_el;
                    out_last <= last_idx;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        sx <= {SXW{1'b0}};
                        sxx <= {SQW{1'b0}};
                        state <= S_LOAD;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
            endcase
        end
    end

endmodule
