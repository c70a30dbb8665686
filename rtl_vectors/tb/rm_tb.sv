// rm_tb: generic testbench for refmodel vector sets (Icarus Verilog -g2012 and other
// SystemVerilog simulators).
//
// Compile it after a set's generated .svh, which defines every width, count, file name and
// register value, and `RM_OP_<OP>`, which selects the DUT adapter included below:
//
//   iverilog -g2012 -s rm_tb -I rtl_vectors/tb -o sim.vvp SET/<name>.svh rtl_vectors/tb/rm_tb.sv \
//            rtl_vectors/rtl/*.v
//   (cd SET && vvp -n /abs/path/sim.vvp)          or   vvp -n sim.vvp +RM_DIR=SET
//
// File names in the .svh are relative to the set directory: run vvp there, or give the
// directory with +RM_DIR=<dir>. Other plusargs: +RM_NO_STALL (drive every cycle; the default
// inserts pseudo-random bubbles on in_valid and out_ready to exercise the handshakes) and
// +RM_SEED=<n> (the bubble pattern).
//
// Every input element is streamed to the DUT in row-major order; every output is compared
// with output.hex. Each mismatch prints
//   mismatch at index I: input X, expected E, got G
// (decimal, signed or unsigned as the set declares) and the last line is always
//   N vectors, E errors
// where missing outputs (a timeout) and extra outputs count as errors. A run that completes
// prints, just before it,
//   rm_tb: cycles: total T, first latency L
// T: clock edges from the first input transfer to the last output transfer, both counted;
// L: from the transfer of the first row's last input to the first output transfer, or from
// the first input transfer when an element-wise DUT outputs before the row is complete
// (measure them with +RM_NO_STALL: refmodel.cost does).

`timescale 1ns/1ps

`ifndef RM_N_VECTORS
  `define RM_N_VECTORS 0
  `define RM_TB_NO_SET 1
`endif

module rm_tb;
`ifdef RM_OUTPUT_DIMS
  `define RM_TB_SHAPED 1
`elsif RM_OP_GEMM
  `define RM_TB_SHAPED 1     // a gemm set with N == K is written unshaped: same testbench
`endif

`ifdef RM_TB_NO_SET
    initial begin
        $display("rm_tb: no vector set: compile a set's .svh before rm_tb.sv");
        $display("0 vectors, 1 errors");
        $finish;
    end
`elsif RM_TB_SHAPED
    // ================================================================ shaped sets
    // One file per input (input.hex, or input_a.hex and input_b.hex, or input_codes.hex and
    // input_v.hex), every tensor with its shape. The testbench drives up to two input streams,
    // A (input, input_a or input_codes) and B (input_b or input_v); the DUT adapter says in which order: A_ROW and B_ROW transfers per output row,
    // and the functions a_index(n) / b_index(n), the element of the input file that the n-th
    // transfer of each stream carries. Every output element is compared with output.hex.
    localparam integer NV = `RM_N_VECTORS;
    localparam integer ROWS = `RM_ROWS;
    localparam integer COLS = `RM_COLS;
    localparam integer OUT_BITS = `RM_OUT_BITS;
    localparam integer OUT_SIGNED = `RM_OUT_SIGNED;
`ifdef RM_INPUT_A_FILE
    localparam integer A_BITS = `RM_INPUT_A_BITS;
    localparam integer A_SIGNED = `RM_INPUT_A_SIGNED;
    localparam integer A_COUNT = `RM_INPUT_A_COUNT;
`elsif RM_INPUT_CODES_FILE
    localparam integer A_BITS = `RM_INPUT_CODES_BITS;
    localparam integer A_SIGNED = `RM_INPUT_CODES_SIGNED;
    localparam integer A_COUNT = `RM_INPUT_CODES_COUNT;
`elsif RM_INPUT_BITS
    localparam integer A_BITS = `RM_INPUT_BITS;
    localparam integer A_SIGNED = `RM_INPUT_SIGNED;
    localparam integer A_COUNT = `RM_INPUT_COUNT;
`else
    localparam integer A_BITS = `RM_IN_BITS;      // an unshaped set: input shaped as the output
    localparam integer A_SIGNED = `RM_IN_SIGNED;
    localparam integer A_COUNT = `RM_N_VECTORS;
`endif
`ifdef RM_INPUT_B_FILE
    localparam integer HAS_B = 1;
    localparam integer B_BITS = `RM_INPUT_B_BITS;
    localparam integer B_SIGNED = `RM_INPUT_B_SIGNED;
    localparam integer B_COUNT = `RM_INPUT_B_COUNT;
`elsif RM_INPUT_V_FILE
    localparam integer HAS_B = 1;
    localparam integer B_BITS = `RM_INPUT_V_BITS;
    localparam integer B_SIGNED = `RM_INPUT_V_SIGNED;
    localparam integer B_COUNT = `RM_INPUT_V_COUNT;
`else
    localparam integer HAS_B = 0;
    localparam integer B_BITS = 2;
    localparam integer B_SIGNED = 1;
    localparam integer B_COUNT = 1;
`endif

    reg clk = 1'b0;
    always #5 clk = ~clk;
    reg rst = 1'b1;

    reg [A_BITS-1:0]   a_mem   [0:((A_COUNT > 0) ? A_COUNT : 1)-1];
    reg [B_BITS-1:0]   b_mem   [0:((B_COUNT > 0) ? B_COUNT : 1)-1];
    reg [OUT_BITS-1:0] exp_mem [0:((NV > 0) ? NV : 1)-1];
    string dir;
    integer stall;
    integer seed;
    reg [15:0] lfsr;
    integer run_rows;    // output rows simulated (+RM_MAX_ROWS caps them)
    integer nv_run;      // outputs compared: run_rows * COLS
    integer a_total;     // transfers of each stream for run_rows rows
    integer b_total;

    // Streams between the testbench and the DUT adapter.
    reg                 a_valid;
    wire                a_ready;
    reg  [A_BITS-1:0]   a_data;
    integer             a_idx;       // transfer count of stream A (the element presented)
    reg                 b_valid;
    wire                b_ready;
    reg  [B_BITS-1:0]   b_data;
    integer             b_idx;
    wire                out_valid;
    reg                 out_ready;
    wire [OUT_BITS-1:0] out_data;
    integer             out_idx;
    integer             errors;
    integer             idle;
    integer             i;
    integer             cycle;
    integer             first_in;
    integer             row0_in;
    integer             first_out;

    function string file_path(input string name);
        file_path = {dir, "/", name};
    endfunction

    function signed [63:0] as_int(input [63:0] raw, input integer bits, input integer sgn);
        reg [63:0] v;
        begin
            v = raw & ((64'd1 << bits) - 64'd1);
            if (sgn != 0 && v[bits - 1])
                as_int = v - (64'd1 << bits);
            else
                as_int = v;
        end
    endfunction

    // ---------------------------------------------------------------- DUT, per op
`ifdef RM_OP_GEMM
    `include "rm_dut_gemm.svh"
`elsif RM_OP_MATMUL
    `include "rm_dut_matmul.svh"
`elsif RM_OP_REQUANT_ADD
    `include "rm_dut_requant_add.svh"
`elsif RM_OP_FQVIT_ATTEND
    `include "rm_dut_fqvit_attend.svh"
`elsif RM_OP_QUANTIZE
    `include "rm_dut_quantize.svh"
`else
    localparam integer A_ROW = 1;
    localparam integer B_ROW = 0;
    function integer a_index(input integer n);
        a_index = n;
    endfunction
    function integer b_index(input integer n);
        b_index = 0;
    endfunction
    assign a_ready = 1'b0;
    assign b_ready = 1'b0;
    assign out_valid = 1'b0;
    assign out_data = {OUT_BITS{1'b0}};
    task rm_load_cfg;
        begin
            $display("rm_tb: no DUT for op %s", `RM_OP);
            errors = errors + 1;
        end
    endtask
`endif
    localparam integer TIMEOUT = 40 * (COLS + A_ROW) + 4000;   // cycles without an output

    // ---------------------------------------------------------------- stimulus
    initial begin
        errors = 0;
        if (!$value$plusargs("RM_DIR=%s", dir))
            dir = ".";
        stall = !$test$plusargs("RM_NO_STALL");
        if (!$value$plusargs("RM_SEED=%d", seed))
            seed = 1;
        if (!$value$plusargs("RM_MAX_ROWS=%d", run_rows) || run_rows < 0 || run_rows > ROWS)
            run_rows = ROWS;
        if (run_rows < ROWS)
            $display("rm_tb: simulating the first %0d of %0d output rows", run_rows, ROWS);
        nv_run = run_rows * COLS;
        a_total = run_rows * A_ROW;
        b_total = run_rows * B_ROW;
        lfsr = seed[15:0] ^ 16'hace1;
        if (lfsr == 16'd0)
            lfsr = 16'h1;
`ifdef RM_INPUT_A_FILE
        $readmemh(file_path(`RM_INPUT_A_FILE), a_mem);
`elsif RM_INPUT_CODES_FILE
        $readmemh(file_path(`RM_INPUT_CODES_FILE), a_mem);
`else
        $readmemh(file_path(`RM_INPUT_FILE), a_mem);
`endif
`ifdef RM_INPUT_B_FILE
        $readmemh(file_path(`RM_INPUT_B_FILE), b_mem);
`elsif RM_INPUT_V_FILE
        $readmemh(file_path(`RM_INPUT_V_FILE), b_mem);
`endif
        $readmemh(file_path(`RM_OUTPUT_FILE), exp_mem);
        for (i = 0; i < A_COUNT; i = i + 1)
            if (^a_mem[i] === 1'bx && errors == 0) begin
                $display("rm_tb: input A has no valid element %0d (of %0d): missing or short file", i, A_COUNT);
                errors = errors + 1;
            end
        for (i = 0; i < B_COUNT && HAS_B != 0; i = i + 1)
            if (^b_mem[i] === 1'bx && errors == 0) begin
                $display("rm_tb: input B has no valid element %0d (of %0d): missing or short file", i, B_COUNT);
                errors = errors + 1;
            end
        for (i = 0; i < NV; i = i + 1)
            if (^exp_mem[i] === 1'bx && errors == 0) begin
                $display("rm_tb: %s has no valid element %0d (of %0d): missing or short file", file_path(`RM_OUTPUT_FILE), i, NV);
                errors = errors + 1;
            end
        if (errors == 0)
            rm_load_cfg;
        if (errors != 0) begin
            $display("%0d vectors, %0d errors", nv_run, nv_run);
            $finish;
        end
        repeat (3) @(posedge clk);
        rst <= 1'b0;
    end

    always @(posedge clk) begin
        lfsr <= {lfsr[14:0], lfsr[15] ^ lfsr[13] ^ lfsr[12] ^ lfsr[10]};
    end

    always @(posedge clk) begin
        if (rst) begin
            cycle <= 0;
        end else begin
            cycle <= cycle + 1;
            if (a_valid && a_ready && a_idx == 0)
                first_in <= cycle;
            if (a_valid && a_ready && a_idx == A_ROW - 1)
                row0_in <= cycle;
            if (out_valid && out_ready && out_idx == 0)
                first_out <= cycle;
        end
    end

    // Input drivers: valid stays high until the transfer (AXI-Stream rule); independent
    // bubbles on each stream.
    integer a_nxt;
    always @(posedge clk) begin
        if (rst) begin
            a_valid <= 1'b0;
            a_idx <= 0;
        end else if (!a_valid || a_ready) begin
            a_nxt = a_idx + ((a_valid && a_ready) ? 1 : 0);
            a_idx <= a_nxt;
            if (a_nxt < a_total && (!stall || lfsr[1:0] != 2'b00)) begin
                a_valid <= 1'b1;
                a_data <= a_mem[a_index(a_nxt)];
            end else begin
                a_valid <= 1'b0;
            end
        end
    end

    integer b_nxt;
    always @(posedge clk) begin
        if (rst) begin
            b_valid <= 1'b0;
            b_idx <= 0;
        end else if (!b_valid || b_ready) begin
            b_nxt = b_idx + ((b_valid && b_ready) ? 1 : 0);
            b_idx <= b_nxt;
            if (b_nxt < b_total && (!stall || lfsr[7:6] != 2'b00)) begin
                b_valid <= 1'b1;
                b_data <= b_mem[b_index(b_nxt)];
            end else begin
                b_valid <= 1'b0;
            end
        end
    end

    // ---------------------------------------------------------------- checker
    always @(posedge clk) begin
        if (rst) begin
            out_ready <= 1'b0;
            out_idx <= 0;
            idle <= 0;
        end else begin
            out_ready <= !stall || lfsr[4:3] != 2'b00;
            if (out_valid && out_ready) begin
                idle <= 0;
                if (out_idx >= nv_run) begin
                    $display("extra output %0d: got %0d", out_idx, as_int(out_data, OUT_BITS, OUT_SIGNED));
                    errors = errors + 1;
                end else if (out_data !== exp_mem[out_idx]) begin
                    $display("mismatch at index %0d (row %0d, column %0d): expected %0d, got %0d", out_idx,
                             out_idx / COLS, out_idx % COLS,
                             as_int(exp_mem[out_idx], OUT_BITS, OUT_SIGNED),
                             as_int(out_data, OUT_BITS, OUT_SIGNED));
                    errors = errors + 1;
                end
                out_idx <= out_idx + 1;
                if (out_idx >= nv_run + 15) begin
                    $display("%0d vectors, %0d errors", nv_run, errors);
                    $finish;
                end
            end else begin
                idle <= idle + 1;
                if (out_idx >= nv_run && idle >= 8) begin
                    $display("rm_tb: cycles: total %0d, first latency %0d", cycle - idle - first_in,
                             (first_out > row0_in) ? first_out - row0_in : first_out - first_in);
                    $display("%0d vectors, %0d errors", nv_run, errors);
                    $finish;
                end
                if (out_idx < nv_run && idle > TIMEOUT) begin
                    $display("timeout: %0d of %0d outputs after %0d idle cycles", out_idx, nv_run, idle);
                    errors = errors + (nv_run - out_idx);
                    $display("%0d vectors, %0d errors", nv_run, errors);
                    $finish;
                end
            end
        end
    end
`else
    localparam integer NV = `RM_N_VECTORS;
    localparam integer ROWS = `RM_ROWS;
    localparam integer COLS = `RM_COLS;
    localparam integer IN_BITS = `RM_IN_BITS;
    localparam integer IN_SIGNED = `RM_IN_SIGNED;
    localparam integer OUT_BITS = `RM_OUT_BITS;
    localparam integer OUT_SIGNED = `RM_OUT_SIGNED;
    localparam integer TIMEOUT = 40 * COLS + 4000;   // cycles without an output

    reg clk = 1'b0;
    always #5 clk = ~clk;
    reg rst = 1'b1;

    reg [IN_BITS-1:0]  in_mem  [0:NV-1];
    reg [OUT_BITS-1:0] exp_mem [0:NV-1];
    string dir;
    integer stall;
    integer seed;
    reg [15:0] lfsr;

    // Stream between the testbench and the DUT adapter.
    reg                 in_valid;
    wire                in_ready;
    reg  [IN_BITS-1:0]  in_data;
    integer             in_idx;      // index of the element presented (or next to present)
    wire                out_valid;
    reg                 out_ready;
    wire [OUT_BITS-1:0] out_data;
    integer             out_idx;     // index of the next expected output
    integer             errors;
    integer             idle;
    integer             i;
    integer             cycle;       // clock edges since reset was released
    integer             first_in;    // cycle of the first input transfer
    integer             row0_in;     // cycle of the transfer of the first row's last input
    integer             first_out;   // cycle of the first output transfer

    function string file_path(input string name);
        file_path = {dir, "/", name};
    endfunction

    // raw bits -> integer, as the set declares the tensor (two's complement or unsigned)
    function signed [63:0] as_int(input [63:0] raw, input integer bits, input integer sgn);
        reg [63:0] v;
        begin
            v = raw & ((64'd1 << bits) - 64'd1);
            if (sgn != 0 && v[bits - 1])
                as_int = v - (64'd1 << bits);
            else
                as_int = v;
        end
    endfunction

    // ---------------------------------------------------------------- DUT, per op
`ifdef RM_OP_REQUANT
    `include "rm_dut_requant.svh"
`elsif RM_OP_REQUANT_WIDE
    `include "rm_dut_requant_wide.svh"
`elsif RM_OP_IVIT_SOFTMAX
    `include "rm_dut_ivit_softmax.svh"
`elsif RM_OP_IBERT_SOFTMAX
    `include "rm_dut_ibert_softmax.svh"
`elsif RM_OP_IBERT_GELU
    `include "rm_dut_ibert_gelu.svh"
`elsif RM_OP_IBERT_LAYERNORM
    `include "rm_dut_ibert_layernorm.svh"
`elsif RM_OP_IVIT_LAYERNORM
    `include "rm_dut_ivit_layernorm.svh"
`elsif RM_OP_IVIT_GELU
    `include "rm_dut_ivit_gelu.svh"
`elsif RM_OP_FQVIT_SOFTMAX
    `include "rm_dut_fqvit_softmax.svh"
`elsif RM_OP_FQVIT_LAYERNORM
    `include "rm_dut_fqvit_layernorm.svh"
`elsif RM_OP_LUT_GELU
    `include "rm_dut_lut_gelu.svh"
`elsif RM_OP_LUT_SOFTMAX
    `include "rm_dut_lut_softmax.svh"
`elsif RM_OP_LUT_LAYERNORM
    `include "rm_dut_lut_layernorm.svh"
`else
    assign in_ready = 1'b0;
    assign out_valid = 1'b0;
    assign out_data = {OUT_BITS{1'b0}};
    task rm_load_cfg;
        begin
            $display("rm_tb: no DUT for op %s", `RM_OP);
            errors = errors + 1;
        end
    endtask
`endif

    // ---------------------------------------------------------------- stimulus
    initial begin
        errors = 0;
        if (!$value$plusargs("RM_DIR=%s", dir))
            dir = ".";
        stall = !$test$plusargs("RM_NO_STALL");
        if (!$value$plusargs("RM_SEED=%d", seed))
            seed = 1;
        lfsr = seed[15:0] ^ 16'hace1;
        if (lfsr == 16'd0)
            lfsr = 16'h1;
        $readmemh(file_path(`RM_INPUT_FILE), in_mem);
        $readmemh(file_path(`RM_OUTPUT_FILE), exp_mem);
        for (i = 0; i < NV; i = i + 1) begin
            if (^in_mem[i] === 1'bx || ^exp_mem[i] === 1'bx) begin
                $display("rm_tb: %s or %s has no valid element %0d (of %0d): missing or short file",
                         file_path(`RM_INPUT_FILE), file_path(`RM_OUTPUT_FILE), i, NV);
                $display("%0d vectors, %0d errors", NV, NV);
                $finish;
            end
        end
        rm_load_cfg;
        if (errors != 0) begin
            $display("%0d vectors, %0d errors", NV, NV);
            $finish;
        end
        repeat (3) @(posedge clk);
        rst <= 1'b0;
    end

    always @(posedge clk) begin
        lfsr <= {lfsr[14:0], lfsr[15] ^ lfsr[13] ^ lfsr[12] ^ lfsr[10]};
    end

    // Cycle stamps for the timing line.
    always @(posedge clk) begin
        if (rst) begin
            cycle <= 0;
        end else begin
            cycle <= cycle + 1;
            if (in_valid && in_ready && in_idx == 0)
                first_in <= cycle;
            if (in_valid && in_ready && in_idx == COLS - 1)
                row0_in <= cycle;
            if (out_valid && out_ready && out_idx == 0)
                first_out <= cycle;
        end
    end

    // Input driver: valid stays high until the transfer (AXI-Stream rule).
    integer nxt;
    always @(posedge clk) begin
        if (rst) begin
            in_valid <= 1'b0;
            in_idx <= 0;
        end else if (!in_valid || in_ready) begin
            nxt = in_idx + ((in_valid && in_ready) ? 1 : 0);
            in_idx <= nxt;
            if (nxt < NV && (!stall || lfsr[1:0] != 2'b00)) begin
                in_valid <= 1'b1;
                in_data <= in_mem[nxt];
            end else begin
                in_valid <= 1'b0;
            end
        end
    end

    // ---------------------------------------------------------------- checker
    always @(posedge clk) begin
        if (rst) begin
            out_ready <= 1'b0;
            out_idx <= 0;
            idle <= 0;
        end else begin
            out_ready <= !stall || lfsr[4:3] != 2'b00;
            if (out_valid && out_ready) begin
                idle <= 0;
                if (out_idx >= NV) begin
                    $display("extra output %0d: got %0d", out_idx, as_int(out_data, OUT_BITS, OUT_SIGNED));
                    errors = errors + 1;
                end else if (out_data !== exp_mem[out_idx]) begin
                    $display("mismatch at index %0d: input %0d, expected %0d, got %0d", out_idx,
                             as_int(in_mem[out_idx], IN_BITS, IN_SIGNED),
                             as_int(exp_mem[out_idx], OUT_BITS, OUT_SIGNED),
                             as_int(out_data, OUT_BITS, OUT_SIGNED));
                    errors = errors + 1;
                end
                out_idx <= out_idx + 1;
                if (out_idx >= NV + 15) begin   // a DUT that never stops
                    $display("%0d vectors, %0d errors", NV, errors);
                    $finish;
                end
            end else begin
                idle <= idle + 1;
                if (out_idx >= NV && idle >= 8) begin   // 8 quiet cycles for an extra output to show
                    $display("rm_tb: cycles: total %0d, first latency %0d", cycle - idle - first_in,
                             (first_out > row0_in) ? first_out - row0_in : first_out - first_in);
                    $display("%0d vectors, %0d errors", NV, errors);
                    $finish;
                end
                if (out_idx < NV && idle > TIMEOUT) begin
                    $display("timeout: %0d of %0d outputs after %0d idle cycles", out_idx, NV, idle);
                    errors = errors + (NV - out_idx);
                    $display("%0d vectors, %0d errors", NV, errors);
                    $finish;
                end
            end
        end
    end
`endif
endmodule
