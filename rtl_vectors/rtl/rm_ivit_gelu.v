// rm_ivit_gelu: I-ViT ShiftGELU over rows of COLS channels, bit-exact with refmodel's
// `ivit.gelu` op (refmodel/ops/ivit/gelu.py, docs/ops/ivit.gelu.md; decisions D2, D12, D14):
//
//   M     = max_j X_j
//   E_j   = shiftexp(X_j - M, X0, N)              (rm_shiftexp, D <= 0)
//   Em    = min(shiftexp(-M, X0, N), 2^31)        once per row; -M > 0 is possible (below)
//   S_j   = min(E_j + Em, 2^31 - 1)
//   F_j   = (2^31 - 1) div S_j                    exact: 31-step divider, once per element
//   SIG_j = (E_j * F_j) >> SHIFT                  SHIFT = 32 - sig_bits
//   OUT_j = X_j * SIG_j
//
// Em for -M > 0 (an all-negative row): P = D + (D >>> 1) - (D >>> 4) > 0, the floor quotient
// q = P div X0 is -ceil(P / u) (u = -X0) and the shift N - q = N + ceil(P / u). When
// P > (31 - N) u that shift is >= 32 and Em is capped at 2^31 (its value is >= 2^31 there);
// otherwise ceil(P / u) = #{k in 0 .. 30 - N : P > k u} (constant comparisons, no divider),
// rr = P - u ceil(P / u) and Em = min(((rr + 2u) << (N + ceil(P / u))) >> 1, 2^31).
// The cap never changes a result: E_j >= 1, so min(E_j + min(Em, 2^31), 2^31 - 1) =
// min(E_j + Em, 2^31 - 1).
//
// Schedule of one row (the row buffer is a COLS x IN_BITS register file; one shift-exp unit
// serves Em and every E_j, one divider every F_j):
//   LOAD  COLS cycles        accept X_j (in_ready = 1), running maximum
//   EM    1 cycle            Em
//   per element: 1 cycle to start the divider, 31 steps, 1 for the divider's done flag, 1 to
//   load the output register (waiting there while the output register is full)
// Latency: the first output of a row can be taken 36 edges after the edge that took the
// row's last input; throughput one element per 34 cycles, one row per 35 * COLS + 1 cycles
// with no back-pressure (26,881 cycles at COLS = 768, measured). The per-element division is
// what makes this GELU expensive; several dividers in parallel would divide the time.
// Reset: synchronous, active high.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_ivit_gelu #(
    parameter integer COLS = 768,
    parameter integer IN_BITS = 8,     // signed input width
    parameter integer OUT_BITS = 15,   // signed output width: IN_BITS + sig_bits - 1
    parameter integer X0 = -12,        // floor(-1 / (1.702 s)), negative, |X0| * 2^N < 2^31
    parameter integer N = 23,          // exponent floor, 1..30
    parameter integer SHIFT = 24       // 32 - sig_bits
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [IN_BITS-1:0]  in_data,   // two's complement
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [OUT_BITS-1:0] out_data,  // two's complement
    output reg                 out_last   // with the last element of a row
);

    localparam integer IW = (COLS > 1) ? $clog2(COLS) : 1;
    localparam integer DW = IN_BITS + 1;                  // D = X - M, and -M
    localparam integer PW = DW + 2;                       // P of -M > 0
    localparam integer U = -X0;
    localparam integer KMAX = 31 - N;                     // shifts N + k < 32 for k <= 30 - N
    localparam [31:0]  SUM_MAX = 32'h7fffffff;

    localparam [2:0] S_LOAD = 3'd0, S_EM = 3'd1, S_START = 3'd2, S_DIV = 3'd3, S_OUT = 3'd4;

    reg [2:0]                state;
    reg [IW-1:0]             idx;
    reg signed [IN_BITS-1:0] row [0:COLS-1];
    reg signed [IN_BITS-1:0] xmax;
    reg [31:0]               em;        // min(Em, 2^31)

    wire last_idx = (idx == COLS - 1);
    wire out_free = !out_valid || out_ready;
    assign in_ready = (state == S_LOAD);

    // ---- shift-exp: -M in state EM (when -M <= 0), X_j - M otherwise
    wire signed [DW-1:0]     neg_m = -$signed({xmax[IN_BITS-1], xmax});
    wire signed [DW-1:0]     d_elem = $signed(row[idx]) - $signed(xmax);
    wire signed [DW-1:0]     d = (state == S_EM) ? neg_m : d_elem;
    wire [30:0]              e;
    rm_shiftexp #(.DW(DW), .X0(X0), .N(N)) u_exp (.d(d), .e(e));

    // ---- Em for -M > 0
    wire signed [PW-1:0]     dm = neg_m;
    wire signed [PW-1:0]     pm = dm + (dm >>> 1) - (dm >>> 4);     // > 0 when -M > 0
    wire                     em_cap = (pm > KMAX * U);
    reg  [5:0]               cnt;                                   // ceil(P / u)
    integer                  k;
    always @* begin
        cnt = 6'd0;
        for (k = 0; k < KMAX; k = k + 1)
            if (pm > k * U)
                cnt = k + 1;
    end
    wire signed [PW-1:0]     rr = pm - cnt * U;                     // (-u, 0]
    wire [63:0]              a = rr + 2 * U;                        // [u + 1, 2u]
    wire [63:0]              em_sh = (a << (N + cnt)) >> 1;         // < 2^62
    wire [31:0]              em_pos = (em_cap || em_sh > 64'h80000000) ? 32'h80000000 : em_sh[31:0];
    wire [31:0]              em_next = neg_m[DW-1] || neg_m == 0 ? {1'b0, e} : em_pos;

    // ---- per element: S, F, SIG, OUT
    wire [32:0]              s_full = e + em;
    wire [30:0]              s_j = (s_full > SUM_MAX) ? SUM_MAX[30:0] : s_full[30:0];
    wire                     div_busy, div_done;
    wire [30:0]              div_q;
    wire [30:0]              div_r;
    rm_udiv #(.NW(31), .DW(31)) u_div (
        .clk(clk), .rst(rst), .start(state == S_START), .num(SUM_MAX[30:0]), .den(s_j),
        .busy(div_busy), .done(div_done), .quo(div_q), .rem(div_r)
    );
    reg  [30:0]              f;
    wire [61:0]              ef = e * f;                            // <= 2^31 - 1
    wire [30:0]              sig = ef >> SHIFT;
    wire signed [OUT_BITS-1:0] o = $signed(row[idx]) * $signed({1'b0, sig});

    always @(posedge clk) begin
        if (rst) begin
            state <= S_LOAD;
            idx <= {IW{1'b0}};
            out_valid <= 1'b0;
            out_last <= 1'b0;
        end else begin
            if (out_valid && out_ready)
                out_valid <= 1'b0;
            case (state)
                S_LOAD: if (in_valid) begin
                    row[idx] <= in_data;
                    if (idx == 0 || $signed(in_data) > xmax)
                        xmax <= in_data;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        state <= S_EM;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_EM: begin
                    em <= em_next;
                    state <= S_START;
                end
                S_START: state <= S_DIV;
                S_DIV: if (div_done) begin
                    f <= div_q;
                    state <= S_OUT;
                end
                S_OUT: if (out_free) begin
                    out_valid <= 1'b1;
                    out_data <= o;
                    out_last <= last_idx;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        state <= S_LOAD;
                    end else begin
                        idx <= idx + 1'b1;
                        state <= S_START;
                    end
                end
            endcase
        end
    end

endmodule
