// rm_lut_softmax: softmax from an exp table over rows of COLS elements, bit-exact with
// refmodel's `lut.softmax` op (refmodel/ops/lut/softmax.py, docs/ops/lut.softmax.md; D2, D12,
// D14):
//
//   M     = max_j X_j
//   t_j   = M - X_j                             in [0, 2^IN_BITS - 1]
//   E_j   = table[min(t_j, TLEN - 1)]           in [0, 2^F], F = FRAC_BITS
//   S     = sum_j E_j                           exact, in [2^F, COLS * 2^F]
//   R     = 2^62 div S                          exact: restoring division, 63 - F steps
//   OUT_j = rne_shift(E_j * R, OUT_SHIFT)       round half to even; OUT_SHIFT = 62 - (OUT_BITS - 1)
//
// The division needs only 63 - F steps: the first F bits of the numerator 2^62 form the
// prefix 2^(F-1) < 2^F <= S, so their quotient bits are 0 and the partial remainder starts at
// 2^(F-1); R <= 2^(62-F) has 63 - F bits. E_j * R <= 2^62 (E_j <= S), so the product and the
// rounding fit 64 bits, and OUT_j <= 2^(OUT_BITS-1).
//
// The table (TLEN entries of F + 1 unsigned bits: the set's cfg_table.hex, cut after its last
// non-zero entry plus one zero) is a register file inside the block, loaded through the write
// port `tbl_we`, `tbl_addr`, `tbl_wdata` before the stream starts (a synchronous write,
// independent of `rst`): the register values a chip loads with its configuration.
//
// Parameters come from a vector set's .svh: COLS = `RM_COLS, IN_BITS = `RM_IN_BITS,
// OUT_BITS = `RM_OUT_BITS, FRAC_BITS = `RM_CFG_FRAC_BITS, OUT_SHIFT = `RM_CFG_OUT_SHIFT,
// TLEN = `RM_CFG_TABLE_COUNT.
//
// Interface: valid/ready streaming in and out, row-major, COLS elements per row; `out_last`
// marks the last element of each output row.
//
// Schedule of one row (the row buffer is a COLS x IN_BITS register file; E_j is read from the
// table twice, in SUM and in EMIT, rather than stored):
//   LOAD  COLS cycles     accept X_j (in_ready = 1), running maximum
//   SUM   COLS cycles     E_j and the exact sum, one element per cycle
//   DIV   63 - F cycles   R, one quotient bit per cycle
//   EMIT  COLS cycles     rne_shift(E_j * R) into the output register, one per cycle
// Latency (clock edges, out_ready high): the row's last input is transferred at edge t; SUM
// takes edges t+1 .. t+COLS, DIV the next 63 - F, the first output is loaded at edge
// t+COLS+64-F and can be transferred from edge t+COLS+65-F. LOAD of the next row starts in the
// cycle after the row's last output was loaded. Throughput with no back-pressure: one row per
// 3 * COLS + 63 - F cycles (638 at COLS = 197, F = 16).
// Shared per row: the maximum, the sum, one division. Per element: a subtract, a clamp, a
// table read (twice), an (F + 1) x (63 - F) product and the rounding.
// Reset: synchronous, active high (not the table).
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_lut_softmax #(
    parameter integer COLS = 197,
    parameter integer IN_BITS = 8,     // signed input width, 2..16
    parameter integer OUT_BITS = 16,   // output width, 2..32 (OUT <= 2^(OUT_BITS-1))
    parameter integer FRAC_BITS = 16,  // F: table entries are exp with F fractional bits, 1..30
    parameter integer OUT_SHIFT = 47,  // 62 - (OUT_BITS - 1)
    parameter integer TLEN = 149       // table entries, 2..2^IN_BITS
) (
    input  wire                 clk,
    input  wire                 rst,
    // table write port (configuration)
    input  wire                 tbl_we,
    input  wire [((TLEN > 1) ? $clog2(TLEN) : 1)-1:0] tbl_addr,
    input  wire [FRAC_BITS:0]   tbl_wdata,  // unsigned, <= 2^F
    // input stream
    input  wire                 in_valid,
    output wire                 in_ready,
    input  wire [IN_BITS-1:0]   in_data,    // two's complement
    // output stream
    output reg                  out_valid,
    input  wire                 out_ready,
    output reg  [OUT_BITS-1:0]  out_data,   // unsigned
    output reg                  out_last    // with the last element of a row
);

    localparam integer IW = (COLS > 1) ? $clog2(COLS) : 1;       // element index
    localparam integer AW = (TLEN > 1) ? $clog2(TLEN) : 1;       // table index
    localparam integer EW = FRAC_BITS + 1;                       // E
    localparam integer SW = FRAC_BITS + $clog2(COLS + 1);        // S <= COLS * 2^F
    localparam integer RW = 63 - FRAC_BITS;                      // R <= 2^(62-F)
    localparam integer PW = EW + RW;                             // E * R (64 bits, <= 2^62)
    localparam integer STEPS = 63 - FRAC_BITS;

    localparam [SW-1:0] ONE_HALF_F = {{(SW - 1){1'b0}}, 1'b1} << (FRAC_BITS - 1);

    localparam [1:0] S_LOAD = 2'd0, S_SUM = 2'd1, S_DIV = 2'd2, S_EMIT = 2'd3;

    reg [EW-1:0]             tbl [0:TLEN-1];

    always @(posedge clk) begin
        if (tbl_we)
            tbl[tbl_addr] <= tbl_wdata;
    end

    reg [1:0]                state;
    reg [IW-1:0]             idx;
    reg signed [IN_BITS-1:0] row [0:COLS-1];
    reg signed [IN_BITS-1:0] xmax;
    reg [SW-1:0]             sum;        // S, then the divisor
    reg [SW-1:0]             rem;        // divider remainder (< S)
    reg [RW-1:0]             r;          // quotient: R
    reg [5:0]                step;       // divider steps left - 1

    // ---- E of the element at idx (shared by SUM and EMIT)
    wire signed [IN_BITS:0]  d = $signed(xmax) - $signed(row[idx]);   // t, >= 0
    wire [IN_BITS:0]         t = d;
    wire [AW-1:0]            addr = (t >= TLEN - 1) ? TLEN - 1 : t[AW-1:0];
    wire [EW-1:0]            e = tbl[addr];

    // ---- division step: trial value 2 * rem (the numerator's remaining bits are 0)
    wire [SW:0]              trial = {rem, 1'b0};
    wire                     ge = (trial >= {1'b0, sum});
    wire [SW:0]              diff = trial - {1'b0, sum};

    // ---- EMIT: rne_shift(E * R, OUT_SHIFT)
    wire [PW-1:0]            p = e * r;
    wire [PW-1:0]            q = p >> OUT_SHIFT;
    wire [OUT_SHIFT-1:0]     frac = p[OUT_SHIFT-1:0];
    wire [OUT_SHIFT-1:0]     half = {{(OUT_SHIFT - 1){1'b0}}, 1'b1} << (OUT_SHIFT - 1);
    wire                     round_up = (frac > half) || ((frac == half) && q[0]);
    wire [PW-1:0]            o = q + round_up;

    wire                     last_idx = (idx == COLS - 1);
    wire                     out_free = !out_valid || out_ready;
    wire                     x_in_gt = $signed(in_data) > xmax;

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
                        sum <= {SW{1'b0}};
                        state <= S_SUM;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_SUM: begin
                    sum <= sum + e;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        rem <= ONE_HALF_F;                       // 2^(F-1)
                        r <= {RW{1'b0}};
                        step <= STEPS - 1;
                        state <= S_DIV;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_DIV: begin
                    rem <= ge ? diff[SW-1:0] : trial[SW-1:0];
                    r <= {r[RW-2:0], ge};
                    if (step == 0)
                        state <= S_EMIT;
                    else
                        step <= step - 1'b1;
                end
                S_EMIT: if (out_free) begin
                    out_valid <= 1'b1;
                    out_data <= o[OUT_BITS-1:0];
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
