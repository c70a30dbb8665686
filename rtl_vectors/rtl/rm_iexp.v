// rm_iexp: I-BERT's integer exponential, combinational part shared by `ibert.softmax` and
// `fqvit.softmax` (refmodel/ops/ibert/iexp.py, docs/ops/ibert.softmax.md):
//
//   Dc = max(D, N * X0)                  exponent floor 2^-N
//   q  = Dc div X0                       0 <= q <= N: counted by comparison with k * X0
//   r  = Dc - X0 * q                     X0 < r <= 0
//   z  = r * (r + BQ) + CQ               1 <= z <= CQ < 2^33 (checked by refmodel)
//
// for D = X - max(X) <= 0. No divider: q is the number of k in 1..QMAX with Dc <= k * X0
// (constants), where QMAX = min(N, span div |X0|) is the largest quotient a DW-bit difference
// can reach (span = 2^(DW-1) - 1).
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_iexp #(
    parameter integer DW = 9,                 // width of the signed difference D (input width + 1)
    parameter signed [63:0] X0 = -9,          // floor(-0.6931 / s), negative
    parameter signed [63:0] BQ = 33,
    parameter signed [63:0] CQ = 436,
    parameter integer N = 30                  // exponent floor, 1..62
) (
    input  wire signed [DW-1:0] d,
    output reg  [5:0]           q,
    output wire [32:0]          z
);

    // Dc >= N * X0 >= -62 * 2^22 needs 29 bits; D needs DW.
    localparam integer CW = (DW > 29 ? DW : 29) + 1;
    localparam signed [63:0] SPAN = (64'sd1 <<< (DW - 1)) - 64'sd1;
    localparam signed [63:0] QLIM = SPAN / (-X0);
    localparam integer QMAX = (QLIM < N) ? QLIM : N;
    localparam signed [CW-1:0] D_MIN = N * X0;

    wire signed [CW-1:0] dx = d;
    wire signed [CW-1:0] dc = (dx < D_MIN) ? D_MIN : dx;

    reg  signed [CW-1:0] qx;     // X0 * q
    integer              k;
    always @* begin
        q = 6'd0;
        qx = {CW{1'b0}};
        // k * X0 decreases with k: the last k with Dc <= k * X0 is Dc div X0.
        for (k = 1; k <= QMAX; k = k + 1) begin
            if (dc <= k * X0) begin
                q = k;
                qx = k * X0;
            end
        end
    end

    wire signed [16:0] r = dc - qx;                    // (X0, 0], |X0| <= 38444
    wire signed [18:0] rb = r + BQ;                    // (0, BQ], BQ <= 150164
    wire signed [35:0] rrb = r * rb;                   // <= 0, > -2^33
    wire signed [35:0] zs = rrb + CQ;                  // [1, CQ]
    assign z = zs[32:0];

endmodule
