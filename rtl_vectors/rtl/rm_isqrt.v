// rm_isqrt: sequential exact integer square root, two radicand bits per cycle.
//
//   root = floor(sqrt(v))                  (decision D3)
//
// A `start` pulse loads `v`; VW/2 cycles later (VW rounded up to even) `done` pulses for one
// cycle with the result on `root`, which then holds until the next `start`. Digit-by-digit
// (restoring) method: each step brings down the next two radicand bits and sets the next
// root bit when the partial remainder reaches 4 * root + 1. The remainder stays <= 2 * root.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_isqrt #(
    parameter integer VW = 40           // radicand width
) (
    input  wire          clk,
    input  wire          rst,
    input  wire          start,
    input  wire [VW-1:0] v,
    output reg           busy,
    output reg           done,
    output reg  [(VW+1)/2-1:0] root
);

    localparam integer EW = 2 * ((VW + 1) / 2);     // even radicand width
    localparam integer RW = EW / 2;                 // root width
    localparam integer CW = $clog2(RW + 1);

    reg  [EW-1:0]  vs;       // radicand bits not yet brought down, most significant first
    reg  [RW+1:0]  rem;
    reg  [CW-1:0]  left;
    wire [RW+3:0]  trial_rem = {rem, vs[EW-1:EW-2]};
    wire [RW+3:0]  trial = {2'b00, root, 2'b01};
    wire           ge = (trial_rem >= trial);
    wire [RW+3:0]  diff = trial_rem - trial;

    always @(posedge clk) begin
        done <= 1'b0;
        if (rst) begin
            busy <= 1'b0;
        end else if (start) begin
            busy <= 1'b1;
            vs <= v;
            rem <= {(RW+2){1'b0}};
            root <= {RW{1'b0}};
            left <= RW[CW-1:0];
        end else if (busy) begin
            rem <= ge ? diff[RW+1:0] : trial_rem[RW+1:0];
            root <= {root[RW-2:0], ge};
            vs <= vs << 2;
            left <= left - 1'b1;
            if (left == 1) begin
                busy <= 1'b0;
                done <= 1'b1;
            end
        end
    end

endmodule
