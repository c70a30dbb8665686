// rm_ibert_softmax: I-BERT integer softmax over rows of COLS elements, bit-exact with
// refmodel's `ibert.softmax` op (refmodel/ops/ibert/softmax.py, docs/ops/ibert.softmax.md):
//
//   M     = max_j X_j
//   q, z  = iexp(X_j - M)                          (rm_iexp: clamp, quotient, polynomial)
//   E16_j = min(rne_shift(z * M16, (C16 - N) + q), 32767)   round half to even; 0 past 63
//   Ssum  = sum_j E16_j                            >= 32767 (the row maximum gives 32767)
//   F     = 2^32 div Ssum                          exact: 33-step restoring divider (rm_udiv)
//   OUT_j = (E16_j * F) >> OUT_SHIFT               floor; OUT_SHIFT = 32 - OUT_BITS
//
// (M16, C16) are the set's `m`, `c` (the dyadic 32767 / (cq 2^n)). E16 is never negative, so
// sat16 reduces to the upper clamp. F <= 2^32 div 32767 = 131076 < 2^18 and
// E16 * F <= 2^32 - 4 (docs/ops/ibert.softmax.md, "Output bounds").
//
// Parameters come from a vector set's .svh: COLS = `RM_COLS, IN_BITS = `RM_IN_BITS,
// OUT_BITS = `RM_OUT_BITS, X0/BQ/CQ/N/M16/C16/OUT_SHIFT = `RM_CFG_X0/BQ/CQ/N/M/C/OUT_SHIFT.
//
// Schedule of one row (the row buffer is a COLS x IN_BITS register file; the exponentials are
// recomputed from it rather than stored, so one i-exp unit serves both passes):
//   LOAD  COLS cycles   accept X_j (in_ready = 1), running maximum
//   SUM   COLS cycles   E16_j and the sum, one element per cycle
//   DIV   34 cycles     F: 33 steps (the start overlaps the last SUM cycle) and the done flag
//   EMIT  COLS cycles   (E16_j * F) >> OUT_SHIFT into the output register, one per cycle
// Latency (out_ready high): the row's last input is taken at edge t, its first output can be
// taken at edge t + COLS + 36; the others follow one per edge. Throughput with no
// back-pressure: one row per 3 * COLS + 34 cycles (625 cycles at COLS = 197, measured).
// Reset: synchronous, active high.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_ibert_softmax #(
    parameter integer COLS = 197,
    parameter integer IN_BITS = 8,          // signed input width, 2..32
    parameter integer OUT_BITS = 16,        // output width, 2..32 (unsigned)
    parameter signed [63:0] X0 = -9,
    parameter signed [63:0] BQ = 33,
    parameter signed [63:0] CQ = 436,
    parameter integer N = 30,
    parameter signed [63:0] M16 = 1260869350,
    parameter integer C16 = 54,
    parameter integer OUT_SHIFT = 16        // 32 - OUT_BITS
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [IN_BITS-1:0]  in_data,    // two's complement
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [OUT_BITS-1:0] out_data,   // unsigned
    output reg                 out_last    // with the last element of a row
);

    localparam integer IW = (COLS > 1) ? $clog2(COLS) : 1;
    localparam integer SW = 15 + $clog2(COLS + 1);      // Ssum <= 32767 * COLS
    localparam integer FW = 18;                          // F <= 131076
    localparam integer SH0 = C16 - N;                    // rounding shift at q = 0 (16..48)

    localparam [1:0] S_LOAD = 2'd0, S_SUM = 2'd1, S_DIV = 2'd2, S_EMIT = 2'd3;

    reg [1:0]                state;
    reg [IW-1:0]             idx;
    reg signed [IN_BITS-1:0] row [0:COLS-1];
    reg signed [IN_BITS-1:0] xmax;
    reg [SW-1:0]             ssum;
    reg [FW-1:0]             f;

    // ---- E16 of the element at idx (shared by SUM and EMIT)
    wire signed [IN_BITS:0]  d = $signed(row[idx]) - $signed(xmax);
    wire [5:0]               q;
    wire [32:0]              z;                           // < 2^32 here (cq < 2^32)
    rm_iexp #(.DW(IN_BITS + 1), .X0(X0), .BQ(BQ), .CQ(CQ), .N(N)) u_iexp (.d(d), .q(q), .z(z));

    wire [62:0]              zm = z[31:0] * M16[30:0];    // < 2^63
    wire [6:0]               sh = SH0 + q;                // 16 .. 110
    wire                     zero_out = (sh >= 7'd64);    // zm / 2^sh < 1/2
    wire [5:0]               shs = sh[5:0];
    wire [62:0]              t = zm >> shs;
    wire [62:0]              rem = zm & ~({63{1'b1}} << shs);
    wire [62:0]              half = 63'd1 << (shs - 1'b1);
    wire                     up = (rem > half) || ((rem == half) && t[0]);
    wire [63:0]              e_round = {1'b0, t} + up;
    wire [14:0]              e16 = zero_out ? 15'd0 : ((e_round > 64'd32767) ? 15'd32767 : e_round[14:0]);

    // ---- F = 2^32 div Ssum
    wire                     div_busy, div_done;
    wire [32:0]              div_q;
    wire [SW-1:0]            div_r;
    wire                     div_start = (state == S_SUM) && (idx == COLS - 1);
    wire [SW-1:0]            sum_last = ssum + e16;
    rm_udiv #(.NW(33), .DW(SW)) u_div (
        .clk(clk), .rst(rst), .start(div_start), .num(33'h100000000), .den(sum_last),
        .busy(div_busy), .done(div_done), .quo(div_q), .rem(div_r)
    );

    wire [32:0]              ef = e16 * f;                // <= 2^32 - 4
    wire                     last_idx = (idx == COLS - 1);
    wire                     out_free = !out_valid || out_ready;

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
                    if (idx == 0 || $signed(in_data) > xmax)
                        xmax <= in_data;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        ssum <= {SW{1'b0}};
                        state <= S_SUM;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_SUM: begin
                    ssum <= sum_last;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        state <= S_DIV;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_DIV: if (div_done) begin
                    f <= div_q[FW-1:0];
                    state <= S_EMIT;
                end
                S_EMIT: if (out_free) begin
                    out_valid <= 1'b1;
                    out_data <= ef[OUT_SHIFT +: OUT_BITS];
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
