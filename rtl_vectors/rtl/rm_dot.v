// rm_dot: the row-buffer dot-product engine of `gemm` (rm_gemm) and `matmul` (rm_matmul):
// one multiply-accumulate per cycle, one output per K cycles.
//
// For every row x[0..K-1] taken on the input stream it produces N outputs
//
//   OUT[n] = INIT[n] + sum_{k=0}^{K-1} x[k] * y[n][k]        exact, modulo 2^ACC_BITS
//
// where y[n][k] arrives on the second operand stream in the order n = 0..N-1, k = 0..K-1 (one
// element per MAC cycle) and INIT[n] on `init_data`, sampled with y[n][0]. The accumulator is
// ACC_BITS wide and wraps: every product and INIT are cut (or sign-extended) to ACC_BITS, so
// the output is the exact sum whenever the exact sum fits ACC_BITS signed bits (the op's
// proven or declared accumulator width), whatever the partial sums do.
//
// Phases: LOAD (K cycles: the row into a K x A_BITS register file, `in_ready` high only
// here), then MAC (N * K cycles: `y_ready` high, one product per `y` transfer). The last MAC
// of an output writes it into the output register, which must be free (`!out_valid ||
// out_ready`); otherwise that MAC waits. The last MAC of the row also starts the next LOAD.
// `mac_n`, `mac_k` name the (n, k) of the next MAC (for a weight memory read in that cycle).
//
// Latency: the first output of a row can be taken K + 1 edges after the edge that took the
// row's last input (K MAC edges, then the output register). Throughput without back-pressure:
// one row per K + N * K cycles, one MAC per cycle during MAC.
// Reset: synchronous, active high; it clears the phase, the counters and the valid flag.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_dot #(
    parameter integer K = 64,          // reduction length: inputs per row (1..2^24)
    parameter integer N = 64,          // outputs per row (1..2^24)
    parameter integer A_BITS = 8,      // input width (2..32)
    parameter integer A_SIGNED = 1,    // 1: two's complement inputs; 0: unsigned
    parameter integer B_BITS = 8,      // second operand width (2..32)
    parameter integer B_SIGNED = 1,
    parameter integer INIT_BITS = 32,  // signed width of INIT (2..63)
    parameter integer ACC_BITS = 32    // accumulator and output width (2..63)
) (
    input  wire                clk,
    input  wire                rst,
    // input stream: rows of K elements
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [A_BITS-1:0]   in_data,
    // second operand: y[n][k], one per MAC
    input  wire                y_valid,
    output wire                y_ready,
    input  wire [B_BITS-1:0]   y_data,
    input  wire [INIT_BITS-1:0] init_data,  // INIT[n], two's complement, read when mac_k == 0
    output reg  [((N > 1) ? $clog2(N) : 1)-1:0] mac_n,
    output reg  [((K > 1) ? $clog2(K) : 1)-1:0] mac_k,
    // output stream: N outputs per row
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [ACC_BITS-1:0] out_data,   // two's complement
    output reg                 out_last    // with the last output of each row
);

    localparam integer KB = (K > 1) ? $clog2(K) : 1;
    localparam integer NB = (N > 1) ? $clog2(N) : 1;
    localparam integer PW = A_BITS + B_BITS + 2;   // both operands made signed, one bit each

    reg [A_BITS-1:0] xbuf [0:K-1];
    reg              load;                          // 1: LOAD, 0: MAC
    reg signed [ACC_BITS-1:0] acc;

    wire last_k = (mac_k == K - 1);
    wire last_n = (mac_n == N - 1);
    wire out_free = !out_valid || out_ready;
    wire mac_ok = !load && (!last_k || out_free);   // a MAC may run this cycle
    wire mac = mac_ok && y_valid;

    assign in_ready = load;
    assign y_ready = mac_ok;

    // ---------------------------------------------------------------- the product, exact
    wire [A_BITS-1:0]          xk = xbuf[mac_k];
    wire signed [A_BITS:0]     xs = A_SIGNED ? {xk[A_BITS-1], xk} : {1'b0, xk};
    wire signed [B_BITS:0]     ys = B_SIGNED ? {y_data[B_BITS-1], y_data} : {1'b0, y_data};
    wire signed [PW-1:0]       prod = xs * ys;
    wire signed [ACC_BITS-1:0] prod_a = prod;                 // sign-extended or cut
    wire signed [ACC_BITS-1:0] init_a = $signed(init_data);   // sign-extended or cut
    wire signed [ACC_BITS-1:0] base = (mac_k == 0) ? init_a : acc;
    wire signed [ACC_BITS-1:0] sum = base + prod_a;            // modulo 2^ACC_BITS

    always @(posedge clk) begin
        if (!rst && load && in_valid)
            xbuf[mac_k] <= in_data;
    end

    always @(posedge clk) begin
        if (rst) begin
            load <= 1'b1;
            mac_k <= {KB{1'b0}};
            mac_n <= {NB{1'b0}};
            out_valid <= 1'b0;
        end else begin
            if (out_ready)
                out_valid <= 1'b0;
            if (load) begin
                if (in_valid) begin
                    if (last_k) begin
                        mac_k <= {KB{1'b0}};
                        load <= 1'b0;
                    end else begin
                        mac_k <= mac_k + 1'b1;
                    end
                end
            end else if (mac) begin
                acc <= sum;
                if (last_k) begin
                    out_valid <= 1'b1;
                    out_data <= sum;
                    out_last <= last_n;
                    mac_k <= {KB{1'b0}};
                    if (last_n) begin
                        mac_n <= {NB{1'b0}};
                        load <= 1'b1;
                    end else begin
                        mac_n <= mac_n + 1'b1;
                    end
                end else begin
                    mac_k <= mac_k + 1'b1;
                end
            end
        end
    end

endmodule
