// rm_lut_gelu: GELU by an exhaustive table, element-wise, bit-exact with refmodel's
// `lut.gelu` op (refmodel/ops/lut/gelu.py, docs/ops/lut.gelu.md):
//
//   OUT = table[X + 2^(IN_BITS-1)]
//
// The table has one signed OUT_BITS-bit entry per input value (2^IN_BITS entries), each the
// rounded and saturated GELU that refmodel derived from the scales (the set's cfg_table.hex);
// no arithmetic runs per element. The index X + 2^(IN_BITS-1) of a two's complement X is X
// with its sign bit inverted.
//
// The table is a register file inside the block, loaded through the write port `tbl_we`,
// `tbl_addr`, `tbl_wdata` (one entry per cycle, a synchronous write, independent of `rst`)
// before the stream starts: the register values a chip loads with its configuration. Writing
// while elements stream is allowed but an element then reads the entry as it was before the
// edge.
//
// Interface: valid/ready streaming, one element per cycle; `in_ready` depends
// combinationally on `out_ready` (as rm_requant).
// Latency 1 cycle: an element taken at edge t is on `out_data` from edge t+1 (the table read
// is registered, as a synchronous-read memory would), so its earliest transfer is at edge t+1.
// Throughput: one element per cycle while `out_ready` is high.
// Reset: synchronous, active high; it clears the valid flag only (not the table).
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_lut_gelu #(
    parameter integer IN_BITS = 8,     // signed input width, 2..16; the table has 2^IN_BITS entries
    parameter integer OUT_BITS = 16    // signed output width, 2..32
) (
    input  wire                clk,
    input  wire                rst,
    // table write port (configuration)
    input  wire                tbl_we,
    input  wire [IN_BITS-1:0]  tbl_addr,
    input  wire [OUT_BITS-1:0] tbl_wdata,  // two's complement
    // input stream
    input  wire                in_valid,
    output wire                in_ready,
    input  wire [IN_BITS-1:0]  in_data,    // two's complement
    // output stream
    output reg                 out_valid,
    input  wire                out_ready,
    output reg  [OUT_BITS-1:0] out_data    // two's complement
);

    localparam integer DEPTH = 1 << IN_BITS;

    reg [OUT_BITS-1:0] tbl [0:DEPTH-1];

    always @(posedge clk) begin
        if (tbl_we)
            tbl[tbl_addr] <= tbl_wdata;
    end

    wire [IN_BITS-1:0] addr = {~in_data[IN_BITS-1], in_data[IN_BITS-2:0]};   // X + 2^(IN_BITS-1)

    assign in_ready = !out_valid || out_ready;

    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
        end else if (in_ready) begin
            out_valid <= in_valid;
            if (in_valid)
                out_data <= tbl[addr];
        end
    end

endmodule
