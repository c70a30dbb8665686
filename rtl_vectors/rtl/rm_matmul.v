// rm_matmul: the exact product of two integer activations, bit-exact with refmodel's `matmul`
// op (refmodel/ops/matmul.py, docs/ops/matmul.md):
//
//   ACC[..., i, j] = sum_{k=0}^{K-1} a[..., i, k] * b[..., k, j]        exact, ACC_BITS signed
//
// for `a` of shape (..., M, K) (A_BITS, signed or not) and `b` of shape (..., K, N) (B_BITS).
// Nothing is rounded or saturated; the accumulator is ACC_BITS wide (the op's proven or
// declared width) and wraps modulo 2^ACC_BITS, which gives the exact sum since the sum fits.
//
// Two input streams. Stream `a` carries a's rows (row-major, K elements per row). Stream `b`
// carries, for every row of `a`, the N columns of the matching b, column by column:
// b[..., 0, j], b[..., 1, j], ..., b[..., K-1, j] for j = 0..N-1 (that is b^T row-major, once
// per row of a). For the scores q k^T, b = k^T and a column of b is a row of k, contiguous in
// memory; for P V a column of V. The block keeps one row of `a` in a K x A_BITS register file
// and reads `b` once per row of `a` (M times per product), so it needs no K x N buffer.
//
// Datapath: rm_dot, one multiply-accumulate per cycle: LOAD (K cycles, `a_ready` high only
// here), then MAC (N * K cycles, `b_ready` high, one product per b transfer); output j of a
// row leaves with its last MAC and `out_last` marks the row's last output.
//
// Interface: valid/ready streaming; neither ready depends on the other stream's valid.
// Latency: the first output of a row can be taken K + 1 edges after the edge that took the
// row's last `a` element (with `b` always valid). Throughput without back-pressure: one row of
// N outputs per K + N * K cycles.
// Reset: synchronous, active high.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_matmul #(
    parameter integer K = 64,          // reduction length (the op's depth), 1..2^24
    parameter integer N = 197,         // outputs per row (columns of b), 1..2^24
    parameter integer A_BITS = 8,      // width of a, 2..32
    parameter integer A_SIGNED = 1,    // 1: a is two's complement; 0: unsigned
    parameter integer B_BITS = 8,      // width of b, 2..32
    parameter integer B_SIGNED = 1,
    parameter integer ACC_BITS = 32    // accumulator and output width, 2..63
) (
    input  wire                clk,
    input  wire                rst,
    // stream a: rows of K elements
    input  wire                a_valid,
    output wire                a_ready,
    input  wire [A_BITS-1:0]   a_data,
    // stream b: N columns of K elements per row of a
    input  wire                b_valid,
    output wire                b_ready,
    input  wire [B_BITS-1:0]   b_data,
    // output stream: N accumulators per row of a
    output wire                out_valid,
    input  wire                out_ready,
    output wire [ACC_BITS-1:0] out_data,   // two's complement
    output wire                out_last
);

    wire [((N > 1) ? $clog2(N) : 1)-1:0] mac_n;
    wire [((K > 1) ? $clog2(K) : 1)-1:0] mac_k;

    rm_dot #(
        .K(K), .N(N), .A_BITS(A_BITS), .A_SIGNED(A_SIGNED), .B_BITS(B_BITS), .B_SIGNED(B_SIGNED),
        .INIT_BITS(2), .ACC_BITS(ACC_BITS)
    ) dot (
        .clk(clk),
        .rst(rst),
        .in_valid(a_valid),
        .in_ready(a_ready),
        .in_data(a_data),
        .y_valid(b_valid),
        .y_ready(b_ready),
        .y_data(b_data),
        .init_data(2'b00),
        .mac_n(mac_n),
        .mac_k(mac_k),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data(out_data),
        .out_last(out_last)
    );

endmodule
