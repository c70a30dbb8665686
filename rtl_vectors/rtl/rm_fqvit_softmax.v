// rm_fqvit_softmax: FQ-ViT Log-Int-Softmax over rows of COLS elements, bit-exact with
// refmodel's `fqvit.softmax` op (refmodel/ops/fqvit/softmax.py, docs/ops/fqvit.softmax.md;
// decisions D2, D10):
//
//   M      = max_j X_j
//   q, z   = iexp(X_j - M) with n = 30          (rm_iexp)
//   E_j    = z << (30 - q)                      exact, < 2^63
//   S      = sum_j E_j                          exact, < 2^63 (refmodel's row-length limit)
//   R_j    = rne(S / E_j)                       round half to even: 63-step divider per element
//   k_j    = bitlen(R_j) - 1
//   code_j = 0 if R_j == 1, else k_j + bit (k_j - 1) of R_j
//   OUT_j  = min(code_j, ZERO_CODE)             ZERO_CODE = 2^OUT_BITS - 1
//
// rne compares the remainder with E - remainder (no doubling), as the op does.
//
// Schedule of one row (the row buffer is a COLS x IN_BITS register file; one i-exp unit serves
// the sum and every element again, one divider every R_j):
//   LOAD  COLS cycles     accept X_j (in_ready = 1), running maximum
//   SUM   COLS cycles     E_j and S, one element per cycle
//   per element: 1 cycle to start the divider, 63 steps, 1 for the divider's done flag, 1 to
//   load the output register (waiting there while the output register is full)
// Latency: the first output of a row can be taken COLS + 67 edges after the edge that took the
// row's last input; throughput one element per 66 cycles, one row per 68 * COLS cycles with no
// back-pressure (13,396 cycles at COLS = 197, measured). The per-element 63-bit division is
// this method's cost; parallel dividers would divide the time.
// Reset: synchronous, active high.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_fqvit_softmax #(
    parameter integer COLS = 197,
    parameter integer IN_BITS = 8,          // signed input width, 2..32
    parameter integer OUT_BITS = 6,         // code width, 2..32
    parameter signed [63:0] X0 = -9,
    parameter signed [63:0] BQ = 33,
    parameter signed [63:0] CQ = 436
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [IN_BITS-1:0]  in_data,    // two's complement
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [OUT_BITS-1:0] out_data,   // unsigned code
    output reg                 out_last    // with the last element of a row
);

    localparam integer IW = (COLS > 1) ? $clog2(COLS) : 1;
    localparam [2:0] S_LOAD = 3'd0, S_SUM = 3'd1, S_START = 3'd2, S_DIV = 3'd3, S_OUT = 3'd4;
    localparam [63:0] ZERO_CODE = (64'd1 << OUT_BITS) - 64'd1;

    reg [2:0]                state;
    reg [IW-1:0]             idx;
    reg signed [IN_BITS-1:0] row [0:COLS-1];
    reg signed [IN_BITS-1:0] xmax;
    reg [62:0]               s;

    // ---- E of the element at idx (SUM, and again for its division)
    wire signed [IN_BITS:0]  d = $signed(row[idx]) - $signed(xmax);
    wire [5:0]               q;
    wire [32:0]              z;
    rm_iexp #(.DW(IN_BITS + 1), .X0(X0), .BQ(BQ), .CQ(CQ), .N(30)) u_iexp (.d(d), .q(q), .z(z));
    wire [62:0]              e = {30'd0, z} << (30 - q);

    // ---- R = rne(S / E)
    wire                     div_busy, div_done;
    wire [62:0]              div_q, div_r;
    rm_udiv #(.NW(63), .DW(63)) u_div (
        .clk(clk), .rst(rst), .start(state == S_START), .num(s), .den(e),
        .busy(div_busy), .done(div_done), .quo(div_q), .rem(div_r)
    );
    wire [62:0]              other = e - div_r;
    wire                     up = (div_r > other) || ((div_r == other) && div_q[0]);
    wire [62:0]              ratio = div_q + up;          // >= 1, < 2^63

    // ---- code
    reg  [5:0]               k;                            // bitlen(R) - 1
    integer                  b;
    always @* begin
        k = 6'd0;
        for (b = 1; b < 63; b = b + 1)
            if (ratio[b])
                k = b;
    end
    wire                     half_bit = (k == 0) ? 1'b0 : ratio[k - 1];
    wire [6:0]               code = (k == 0) ? 7'd0 : k + half_bit;
    wire [OUT_BITS-1:0]      out_code = ({57'd0, code} > ZERO_CODE) ? ZERO_CODE[OUT_BITS-1:0] : code;

    wire last_idx = (idx == COLS - 1);
    wire out_free = !out_valid || out_ready;
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
                        s <= 63'd0;
                        state <= S_SUM;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_SUM: begin
                    s <= s + e;
                    if (last_idx) begin
                        idx <= {IW{1'b0}};
                        state <= S_START;
                    end else begin
                        idx <= idx + 1'b1;
                    end
                end
                S_START: state <= S_DIV;
                S_DIV: if (div_done)
                    state <= S_OUT;
                S_OUT: if (out_free) begin
                    out_valid <= 1'b1;
                    out_data <= out_code;
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
