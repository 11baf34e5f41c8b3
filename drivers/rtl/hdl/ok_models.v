`timescale 1ns / 1ps
// neurram-lab: behavioural models of Opal Kelly's FrontPanel HDL modules (okHost and the endpoints) and of
// the Xilinx IBUFGDS primitive, written for simulation from the FrontPanel user's manual's description of
// what each module does. Not the vendor netlists; the bus encoding on okHE/okEH is this project's own.
//
// okHE[112] = okClk; okHE[31:0] data, okHE[39:32] endpoint address and one strobe bit a transaction:
//   [40] wire-in write (stage), [41] UpdateWireIns (every okWireIn moves its staged value to ep_dataout),
//   [42] UpdateWireOuts (every okWireOut samples ep_datain), [43] wire-out read-back select,
//   [44] trigger-in (data = the bits), [45] pipe-in word write, [46] pipe-out ep_read, [47] pipe-out data select.
// okEH[31:0] read-back data.
// The host side (okHost) is driven by the simulation's host through its cmd_* registers.

module IBUFGDS(output wire O, input wire I, input wire IB);
assign O = I;
endmodule

module okHost(
	input  wire [4:0]   okUH,
	output wire [2:0]   okHU,
	inout  wire [31:0]  okUHU,
	inout  wire         okAA,
	output wire         okClk,
	output wire [112:0] okHE,
	input  wire [64:0]  okEH
	);
parameter real OK_HALF_NS = 4.96;  // USB 3.0 okClk: 100.8 MHz
parameter TRIG_WAIT = 80;        // okClk cycles a trigger call lasts: > 4 cycles of the 6.25 MHz ep_clk
reg clk = 0;
always #(OK_HALF_NS) clk = ~clk;
assign okClk = clk;
assign okHU = 3'b000;
reg [111:0] he = 0;
assign okHE = {clk, he};

// host interface: the simulation host writes cmd_*, toggles cmd_go and waits for cmd_done to toggle
reg [1023:0] wi_flat = 0;        // the 32 wire-in values UpdateWireIns sends (ep i at [i*32 +: 32])
reg [1023:0] wo_flat = 0;        // the 32 wire-out values UpdateWireOuts read back (ep 0x20 + i)
reg [32*512-1:0] pipe_buf = 0;   // pipe words (in or out), word i at [i*32 +: 32]
reg [7:0] cmd_op = 0, cmd_addr = 0;
reg [31:0] cmd_data = 0;
reg [15:0] cmd_len = 0;
reg cmd_go = 0, cmd_done = 0;
reg [63:0] ok_cycles = 0;        // okClk cycles the host interface was busy
reg last_go = 0;
integer i;
localparam OP_WI = 1, OP_WO = 2, OP_TRIG = 3, OP_PIPE_IN = 4, OP_PIPE_OUT = 5, OP_WAIT = 6;

// The host is an always process, not initial + forever: Verilator (INITIALDLY, silenced by -Wno-lint)
// compiles a `<=` inside an initial block as a blocking `=`, so `he` changed before the endpoints and the
// FIFOs sampled okHE at the same okClk edge (the first pipe-in word was lost under Verilator, depending on
// which nets were public). last_go is a non-blocking write too: ok_cycles below reads it on the same edge.
always begin
	@(posedge clk);
	if (cmd_go != last_go) begin
		last_go <= cmd_go;
		case (cmd_op)
			OP_WI: begin
				for (i = 0; i < 32; i = i + 1) begin
					he <= {72'd0, 1'b1, i[7:0], wi_flat[i*32 +: 32]};
					@(posedge clk);
				end
				he <= {70'd0, 1'b1, 1'b0, 8'd0, 32'd0};
				@(posedge clk);
			end
			OP_WO: begin
				he <= {69'd0, 1'b1, 2'b00, 8'd0, 32'd0};
				@(posedge clk);
				// okEH answers the address put on okHE at the last edge
				for (i = 0; i < 32; i = i + 1) begin
					he <= {68'd0, 1'b1, 3'b000, i[7:0] + 8'h20, 32'd0};
					@(posedge clk);
					wo_flat[i*32 +: 32] = okEH[31:0];
				end
			end
			OP_TRIG: begin
				he <= {67'd0, 1'b1, 4'b0000, cmd_addr, cmd_data};
				@(posedge clk);
				he <= 0;
				// the trigger-ins have no okEH in the design: wait out the slowest ep_clk's synchroniser
				for (i = 0; i < TRIG_WAIT; i = i + 1) @(posedge clk);
			end
			OP_PIPE_IN: begin
				for (i = 0; i < cmd_len; i = i + 1) begin
					he <= {66'd0, 1'b1, 5'b00000, cmd_addr, pipe_buf[i*32 +: 32]};
					@(posedge clk);
				end
			end
			OP_PIPE_OUT: begin
				// ep_read one cycle ahead of the word (the endpoint's FIFO gives it the cycle after rd_en)
				for (i = 0; i <= cmd_len; i = i + 1) begin
					he <= {64'd0, (i > 0) ? 1'b1 : 1'b0, (i < cmd_len) ? 1'b1 : 1'b0, 6'd0, cmd_addr, 32'd0};
					@(posedge clk);
					if (i > 0) pipe_buf[(i-1)*32 +: 32] = okEH[31:0];
				end
			end
			OP_WAIT: begin
				for (i = 0; i < cmd_data; i = i + 1) @(posedge clk);
			end
			default: ;
		endcase
		he <= 0;
		cmd_done <= ~cmd_done;
	end
end
always @(posedge clk) if (cmd_go != last_go || he != 0) ok_cycles <= ok_cycles + 1;
endmodule

module okWireOR #(parameter N = 1) (output reg [64:0] okEH, input wire [N*65-1:0] okEHx);
integer k;
always @(*) begin
	okEH = 0;
	for (k = 0; k < N; k = k + 1) okEH = okEH | okEHx[k*65 +: 65];
end
endmodule

module okWireIn(input wire [112:0] okHE, input wire [7:0] ep_addr, output reg [31:0] ep_dataout);
reg [31:0] staged;
initial begin ep_dataout = 0; staged = 0; end
always @(posedge okHE[112]) begin
	if (okHE[40] && okHE[39:32] == ep_addr) staged <= okHE[31:0];
	if (okHE[41]) ep_dataout <= staged;
end
endmodule

module okWireOut(input wire [112:0] okHE, output wire [64:0] okEH, input wire [7:0] ep_addr, input wire [31:0] ep_datain);
reg [31:0] held;
initial held = 0;
always @(posedge okHE[112]) if (okHE[42]) held <= ep_datain;
assign okEH = (okHE[43] && okHE[39:32] == ep_addr) ? {33'd0, held} : 65'd0;
endmodule

// A trigger crosses into ep_clk with a toggle and a two-flop synchroniser: ep_trigger holds the bits for
// exactly one ep_clk cycle.
module okTriggerIn(input wire [112:0] okHE, input wire [7:0] ep_addr, input wire ep_clk, output reg [31:0] ep_trigger);
reg [31:0] pend;
reg tog;
reg [2:0] sync;
initial begin pend = 0; tog = 0; sync = 0; ep_trigger = 0; end
always @(posedge okHE[112]) begin
	if (okHE[44] && okHE[39:32] == ep_addr) begin pend <= okHE[31:0]; tog <= ~tog; end
end
always @(posedge ep_clk) begin
	sync <= {sync[1:0], tog};
	ep_trigger <= (sync[2] != sync[1]) ? pend : 32'd0;
end
endmodule

module okPipeIn(input wire [112:0] okHE, output wire [64:0] okEH, input wire [7:0] ep_addr,
                output wire [31:0] ep_dataout, output wire ep_write);
assign ep_write = okHE[45] && okHE[39:32] == ep_addr;
assign ep_dataout = okHE[31:0];
assign okEH = 65'd0;
endmodule

module okPipeOut(input wire [112:0] okHE, output wire [64:0] okEH, input wire [7:0] ep_addr,
                 input wire [31:0] ep_datain, output wire ep_read);
assign ep_read = okHE[46] && okHE[39:32] == ep_addr;
assign okEH = (okHE[47] && okHE[39:32] == ep_addr) ? {33'd0, ep_datain} : 65'd0;
endmodule
