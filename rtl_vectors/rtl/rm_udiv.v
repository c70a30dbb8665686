// rm_udiv: sequential unsigned restoring divider, one quotient bit per cycle.
//
//   quo = num div den,  rem = num mod den      (den >= 1; den = 0 gives quo = 2^NW - 1)
//
// A `start` pulse loads `num` and `den`; NW cycles later `done` pulses for one cycle with the
// result on `quo` / `rem`, which then hold until the next `start`. `busy` is high in between.
// The quotient register doubles as the numerator shift register: step i shifts the remainder
// left by one bit, brings in the next numerator bit (most significant first) and subtracts
// `den` when the partial remainder reaches it. The remainder stays below `den`, so DW bits
// hold it and one extra bit holds the shifted trial value.
//
// Shared by the row-level ops (a mean, a reciprocal, Newton's divisions): one divider per
// block, used once or a few times per row, never per element.
//
// Verilog-2005, synthesizable.

`timescale 1ns / 1ps

module rm_udiv #(
    parameter integer NW = 32,   // numerator / quotient width, >= 2
    parameter integer DW = 32    // denominator / remainder width, >= 1
) (
    input  wire          clk,
    input  wire          rst,
    input  wire          start,
    input  wire [NW-1:0] num,
    input  wire [DW-1:0] den,
    output reg           busy,
    output reg           done,
    output reg  [NW-1:0] quo,
    output reg  [DW-1:0] rem
);

    localparam integer CW = $clog2(NW + 1);

    reg  [DW-1:0] d;
    reg  [CW-1:0] left;
    wire [DW:0]   trial = {rem, quo[NW-1]};
    wire          ge = (trial >= {1'b0, d});
    wire [DW:0]   diff = trial - {1'b0, d};

    always @(posedge clk) begin
        done <= 1'b0;
        if (rst) begin
            busy <= 1'b0;
        end else if (start) begin
            busy <= 1'b1;
            quo <= num;
            rem <= {DW{1'b0}};
            d <= den;
            left <= NW[CW-1:0];
        end else if (busy) begin
            rem <= ge ? diff[DW-1:0] : trial[DW-1:0];
            quo <= {quo[NW-2:0], ge};
            left <= left - 1'b1;
            if (left == 1) begin
                busy <= 1'b0;
                done <= 1'b1;
            end
        end
    end

endmodule
