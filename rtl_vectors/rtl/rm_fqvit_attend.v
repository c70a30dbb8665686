// rm_fqvit_attend: FQ-ViT's attention probabilities times V in shift form, bit-exact with
// refmodel's `fqvit.attend` op (refmodel/ops/fqvit/attend.py, docs/ops/fqvit.attend.md;
// decisions D10, D11, D12):
//
//   ACC[..., i, d] = sum_{j : code_ij != 2^CODE_BITS - 1} (v_jd << F) >> code_ij
//
// for log2 codes of shape (..., M, K) (unsigned CODE_BITS; code k means 2^-k, the all-ones code
// means 0) and `v` of shape (..., K, N) (signed V_BITS). `>>` is the arithmetic (floor) shift:
// each term is floor(v * 2^(F - code)), and a shift of V_BITS + F - 1 or more gives the sign
// alone (-1 for a negative v, else 0; the op's "shifts of 63 or more" are a case of it). The
// accumulator is ACC_BITS wide (the op's proven or declared width) and wraps modulo
// 2^ACC_BITS, which gives the exact sum since the sum fits.
//
// Two input streams, as rm_matmul. Stream `a` carries the rows of codes (row-major, K codes
// per row). Stream `b` carries, for every row of codes, the N columns of the matching v,
// column by column: v[..., 0, d], v[..., 1, d], ..., v[..., K-1, d] for d = 0..N-1 (v^T
// row-major, once per row of codes). The block keeps one row of codes in a K x CODE_BITS
// register file and reads `v` once per row, so it needs no K x N buffer.
//
// Datapath: one shift-accumulate per cycle (a barrel shifter of V_BITS + F bits, no
// multiplier): LOAD (K cycles, `a_ready` high only here), then ACCUMULATE (N * K cycles,
// `b_ready` high, one term per b transfer); output d of a row leaves with its last term and
// `out_last` marks the row's last output. The last term of an output writes it into the
// output register, which must be free (`!out_valid || out_ready`); otherwise that term waits.
//
// Interface: valid/ready streaming; neither ready depends on the other stream's valid.
// Latency: the first output of a row can be taken K + 1 edges after the edge that took the
// row's last code (with `b` always valid). Throughput without back-pressure: one row of N
// outputs per K + N * K cycles (one term per cycle while accumulating).
// Reset: synchronous, active high; it clears the phase, the counters and the valid flag.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_fqvit_attend #(
    parameter integer K = 197,         // reduction length (the op's depth), 1..2^24
    parameter integer N = 64,          // outputs per row (columns of v), 1..2^24
    parameter integer CODE_BITS = 6,   // width of the unsigned codes, 2..16
    parameter integer V_BITS = 8,      // width of signed v, 2..32
    parameter integer F = 16,          // fractional bits kept: V_BITS + F <= 63
    parameter integer ACC_BITS = 32    // accumulator and output width, 2..63
) (
    input  wire                 clk,
    input  wire                 rst,
    // stream a: rows of K codes
    input  wire                 a_valid,
    output wire                 a_ready,
    input  wire [CODE_BITS-1:0] a_data,
    // stream b: N columns of K values of v per row of codes
    input  wire                 b_valid,
    output wire                 b_ready,
    input  wire [V_BITS-1:0]    b_data,    // two's complement
    // output stream: N accumulators per row of codes
    output reg                  out_valid,
    input  wire                 out_ready,
    output reg  [ACC_BITS-1:0]  out_data,  // two's complement
    output reg                  out_last
);

    localparam integer KB = (K > 1) ? $clog2(K) : 1;
    localparam integer NB = (N > 1) ? $clog2(N) : 1;
    localparam integer VW = V_BITS + F;                      // width of v << F
    localparam [CODE_BITS-1:0] ZERO_CODE = {CODE_BITS{1'b1}};
    // Shift amounts from VW - 1 on all give the sign alone: clamp the shifter's control there.
    localparam integer SB = (VW > 1) ? $clog2(VW) : 1;
    localparam integer MAXSH = VW - 1;

    reg [CODE_BITS-1:0] cbuf [0:K-1];
    reg                 load;                         // 1: LOAD, 0: ACCUMULATE
    reg [KB-1:0]        mac_k;
    reg [NB-1:0]        mac_n;
    reg signed [ACC_BITS-1:0] acc;

    wire last_k = (mac_k == K - 1);
    wire last_n = (mac_n == N - 1);
    wire out_free = !out_valid || out_ready;
    wire mac_ok = !load && (!last_k || out_free);     // a term may be added this cycle
    wire mac = mac_ok && b_valid;

    assign a_ready = load;
    assign b_ready = mac_ok;

    // ---------------------------------------------------------------- the term, exact
    wire [CODE_BITS-1:0]       code = cbuf[mac_k];
    wire                       live = (code != ZERO_CODE);
    wire [SB+CODE_BITS-1:0]    code_x = code;                               // zero-extended
    wire [SB-1:0]              max_sh = MAXSH;
    wire [SB-1:0]              sh = (code >= MAXSH) ? max_sh : code_x[SB-1:0];
    wire signed [VW-1:0]       v_x = $signed(b_data);                       // sign-extended
    wire signed [VW-1:0]       vf = v_x <<< F;                              // v << F, exact
    wire signed [VW-1:0]       term = vf >>> sh;                            // floor(v * 2^(F - code))
    wire signed [ACC_BITS-1:0] term_x = term;                               // sign-extended (or cut)
    wire signed [ACC_BITS-1:0] term_a = live ? term_x : {ACC_BITS{1'b0}};
    wire signed [ACC_BITS-1:0] base = (mac_k == 0) ? {ACC_BITS{1'b0}} : acc;
    wire signed [ACC_BITS-1:0] sum = base + term_a;                         // modulo 2^ACC_BITS

    always @(posedge clk) begin
        if (!rst && load && a_valid)
            cbuf[mac_k] <= a_data;
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
                if (a_valid) begin
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
