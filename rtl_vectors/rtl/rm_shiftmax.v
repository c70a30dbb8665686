// rm_shiftmax: I-ViT Shiftmax over rows of COLS elements, bit-exact with refmodel's
// `ivit.softmax` op (refmodel/ops/ivit/softmax.py, docs/ops/ivit.softmax.md; D2, D12, D14):
//
//   M     = max_j X_j
//   E_j   = shiftexp(X_j - M, X0, N)            (rm_shiftexp)
//   Ssum  = min(sum_j E_j, 2^31 - 1)            31-bit accumulator saturating while summing
//   F     = (2^31 - 1) div Ssum                 exact: 31-step restoring divider
//   OUT_j = (E_j * F) >> SHIFT                  floor; SHIFT = 32 - OUT_BITS
//
// Parameters come straight from a vector set's .svh: COLS = `RM_COLS, IN_BITS = `RM_IN_BITS,
// OUT_BITS = `RM_OUT_BITS, X0 = `RM_CFG_X0, N = `RM_CFG_N, SHIFT = `RM_CFG_SHIFT.
//
// Interface: valid/ready streaming in and out, row-major, COLS elements per row (no `last`
// input is needed; `out_last` marks the last element of each output row).
//
// Schedule of one row (phases run one after another; the row buffer is a register file of
// COLS x IN_BITS bits, the exponentials are recomputed from it rather than stored):
//   LOAD  COLS cycles     accept X_j (in_ready = 1), keep the running maximum
//   SUM   COLS cycles     E_j and the saturating sum, one element per cycle
//   DIV   31 cycles       restoring division, one quotient bit per cycle
//   EMIT  COLS cycles     E_j * F >> SHIFT into the output register, one per cycle
// Latency (clock edges, out_ready high): the row's last input is transferred in at edge t;
// SUM takes edges t+1 .. t+COLS, DIV the next 31, and the first output is loaded into the
// output register at edge t+COLS+32, so its earliest transfer is at edge t+COLS+33; the others
// follow one per edge. LOAD of the next row starts in the cycle after the row's last output
// was loaded into the output register (it overlaps that output's transfer). Throughput with
// no back-pressure and a gap-free input: one row per 3 * COLS + 31 cycles.
// Reset: synchronous, active high.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_shiftmax #(
    parameter integer COLS = 197,
    parameter integer IN_BITS = 8,    // signed input width
    parameter integer OUT_BITS = 16,  // output width (OUT <= 2^(OUT_BITS-1) - 1)
    parameter integer X0 = -20,       // floor(-1 / scale_in), negative, |X0| * 2^N < 2^31
    parameter integer N = 15,
    parameter integer SHIFT = 16      // 32 - OUT_BITS
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [IN_BITS-1:0]  in_data,   // two's complement
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [OUT_BITS-1:0] out_data,  // unsigned
    output reg                 out_last   // with the last element of a row
);

    localparam integer IW = (COLS > 1) ? $clog2(COLS) : 1;   // element index width
    localparam [30:0]  SUM_MAX = 31'h7fffffff;               // 2^31 - 1

    localparam [1:0] S_LOAD = 2'd0, S_SUM = 2'd1, S_DIV = 2'd2, S_EMIT = 2'd3;

    reg [1:0]                  state;
    reg [IW-1:0]               idx;
    reg signed [IN_BITS-1:0]   row [0:COLS-1];
    reg signed [IN_BITS-1:0]   xmax;
    reg [30:0]                 ssum;     // saturating sum, then the divisor
    reg [30:0]                 rem;      // divider remainder (< ssum)
    reg [30:0]                 f;        // quotient: the normalising factor F
    reg [4:0]                  step;     // divider steps left - 1

    // ---- shift-exp of the element at idx (shared by SUM and EMIT)
    wire signed [IN_BITS:0]    d = $signed(row[idx]) - $signed(xmax);
    wire [30:0]                e;
    rm_shiftexp #(.DW(IN_BITS + 1), .X0(X0), .N(N)) u_exp (.d(d), .e(e));

    wire [31:0]                sum_next = {1'b0, ssum} + {1'b0, e};
    wire [31:0]                r_shift = {rem, 1'b1};          // every numerator bit is 1
    wire                       r_ge = (r_shift >= {1'b0, ssum});
    wire [61:0]                ef = e * f;                      // <= 2^31 - 1 (proved in the doc)
    wire [61:0]                out_full = ef >> SHIFT;

    wire                       last_idx = (idx == COLS - 1);
    wire                       out_free = !out_valid || out_ready;

    wire                       x_in_gt = $signed(in_data) > xmax;

    assign in_ready = (state == S_LOAD);

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
                    if (idx == 0 || x_in_gt)
                        xmax <= in_data;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        ssum <= 31'd0;
                        state <= S_SUM;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_SUM: begin
                    ssum <= (sum_next > {1'b0, SUM_MAX}) ? SUM_MAX : sum_next[30:0];
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        rem <= 31'd0;
                        f <= 31'd0;
                        step <= 5'd30;
                        state <= S_DIV;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_DIV: begin
                    rem <= r_ge ? (r_shift - {1'b0, ssum}) : r_shift[30:0];
                    f <= {f[29:0], r_ge};
                    if (step == 0)
                        state <= S_EMIT;
                    else
                        step <= step - 1'b1;
                end
                S_EMIT: if (out_free) begin
                    out_valid <= 1'b1;
                    out_data <= out_full[OUT_BITS-1:0];
                    out_last <= last_idx;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        state <= S_LOAD;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
            endcase
        end
    end

endmodule
