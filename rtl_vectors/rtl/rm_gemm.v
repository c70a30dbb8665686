// rm_gemm: a linear layer's exact integer accumulator, bit-exact with refmodel's `gemm` op
// (refmodel/ops/gemm.py, docs/ops/gemm.md, decision D7):
//
//   ACC[r, n] = B[n] + sum_{k=0}^{K-1} X[r, k] * W[n, k]        exact, ACC_BITS signed
//
// for each input row X[r, 0..K-1] (signed IN_BITS), weights W (N x K, signed W_BITS) and a
// 32-bit bias B. Nothing is rounded or saturated: the op proves (or the caller declares) that
// ACC fits ACC_BITS, and the accumulator is exactly that wide (it wraps modulo 2^ACC_BITS,
// which gives the exact sum since the sum fits).
//
// The weights and the bias are register values (the set's cfg_weight.hex, row-major, and
// cfg_bias.hex) held in a memory outside the block, read through an asynchronous read port:
// the block shows the weight it needs next on `w_n`, `w_k` and reads `w_data` = W[w_n, w_k]
// and `b_data` = B[w_n] in the same cycle (as the LayerNorms read their per-channel constants).
//
// Datapath: rm_dot, one multiply-accumulate per cycle. Each row is taken into a K x IN_BITS
// register file (LOAD, K cycles, `in_ready` high only here), then the N outputs are computed
// one after the other, K MACs each (MAC, N * K cycles). Output n of a row leaves with its last
// MAC; `out_last` marks the row's last output.
//
// Interface: valid/ready streaming; `in_ready` does not depend on `out_ready`.
// Latency: the first output of a row can be taken K + 1 edges after the edge that took the
// row's last input. Throughput without back-pressure: one row per K + N * K cycles.
// Shared per row: the row buffer. Per output: K MACs (IN_BITS x W_BITS products) on one
// multiplier and one ACC_BITS adder.
// Reset: synchronous, active high.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_gemm #(
    parameter integer K = 192,         // input row length (reduction), 1..2^24
    parameter integer N = 192,         // outputs per row (weight rows), 1..2^24
    parameter integer IN_BITS = 8,     // signed input width, 2..32
    parameter integer W_BITS = 8,      // signed weight width, 2..32
    parameter integer ACC_BITS = 32    // accumulator and output width, 2..63
) (
    input  wire                clk,
    input  wire                rst,
    // input stream: rows of K elements
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [IN_BITS-1:0]  in_data,    // two's complement
    // weight and bias read port (asynchronous read, outside memory)
    output wire [((N > 1) ? $clog2(N) : 1)-1:0] w_n,
    output wire [((K > 1) ? $clog2(K) : 1)-1:0] w_k,
    input  wire [W_BITS-1:0]   w_data,     // W[w_n, w_k], two's complement
    input  wire [31:0]         b_data,     // B[w_n], two's complement
    // output stream: N accumulators per row
    output wire                out_valid,
    input  wire                out_ready,
    output wire [ACC_BITS-1:0] out_data,   // two's complement
    output wire                out_last
);

    wire y_ready;   // every weight is available at once: a MAC waits only for the output register

    rm_dot #(
        .K(K), .N(N), .A_BITS(IN_BITS), .A_SIGNED(1), .B_BITS(W_BITS), .B_SIGNED(1),
        .INIT_BITS(32), .ACC_BITS(ACC_BITS)
    ) dot (
        .clk(clk),
        .rst(rst),
        .in_valid(in_valid),
        .in_ready(in_ready),
        .in_data(in_data),
        .y_valid(1'b1),
        .y_ready(y_ready),
        .y_data(w_data),
        .init_data(b_data),
        .mac_n(w_n),
        .mac_k(w_k),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data(out_data),
        .out_last(out_last)
    );

endmodule
