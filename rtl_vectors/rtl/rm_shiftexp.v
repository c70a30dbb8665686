// rm_shiftexp: I-ViT shift-exponential (combinational), bit-exact with refmodel's
// `shiftexp` for D <= 0 (refmodel/ops/ivit/shiftexp.py, docs/ops/ivit.softmax.md):
//
//   P  = D + (D >>> 1) - (D >>> 4)         arithmetic (floor) shifts
//   P  = max(P, N * X0)                    exponent floor at 2^-N
//   q  = P div X0                          0 <= q <= N: counted by comparison with k * X0
//   rr = P - X0 * q                        X0 < rr <= 0
//   E  = ((rr - 2*X0) << (N - q)) >>> 1    the half bit is kept (PyTorch variant)
//
// With u = -X0 and u * 2^N <= 2^31 - 1 (refmodel refuses other scales), E lies in
// [u, u * 2^N] and fits 31 unsigned bits. No divider and no multiplier: q is the number of
// k in 1..N with P <= k * X0 (k * X0 are constants), X0 * q is selected with it.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_shiftexp #(
    parameter integer DW = 9,     // width of the signed difference D (input width + 1)
    parameter integer X0 = -13,   // floor(-1 / scale_in), negative
    parameter integer N = 15      // exponent floor, 1..30
) (
    input  wire signed [DW-1:0] d,   // D = X - max(X) <= 0
    output wire [30:0]          e
);

    // P needs DW + 1 bits; keep at least 34 so that N * X0 (> -2^30) and the compares fit.
    localparam integer PW = (DW + 2 > 34) ? DW + 2 : 34;
    localparam signed [PW-1:0] P_MIN = N * X0;

    wire signed [PW-1:0] dx = d;
    wire signed [PW-1:0] p_raw = dx + (dx >>> 1) - (dx >>> 4);
    wire signed [PW-1:0] p = (p_raw < P_MIN) ? P_MIN : p_raw;

    reg  [5:0]           q;
    reg  signed [PW-1:0] qx;     // X0 * q
    integer              k;
    always @* begin
        q = 6'd0;
        qx = {PW{1'b0}};
        // k * X0 decreases with k: the last k with P <= k * X0 is floor(P / X0).
        for (k = 1; k <= N; k = k + 1) begin
            if (p <= k * X0) begin
                q = k;
                qx = k * X0;
            end
        end
    end

    wire signed [PW-1:0] rr = p - qx;                          // (X0, 0]
    wire [31:0]          a = rr - 2 * X0;                      // [u + 1, 2u], below 2^(32-N)
    wire [63:0]          t = {32'd0, a} << (N - q);            // <= 2u * 2^N < 2^32
    assign e = t[31:1];

endmodule
