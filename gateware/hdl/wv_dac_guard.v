`timescale 1ns / 1ps
// neurram-lab gateware: the hardware safety ceiling of the write-verify engine.
//
// Every word the engine hands to the authors' DAC daisy chain (dac_daisy_control's ep_din) passes here.
// A no-op word (command 1111) is always allowed. Any other word must be a write-and-update (0011) of one
// of the four write-path channels of the engine's DAC (DAC 3: 0 VSET_BL, 1 VSET_WL, 2 VRESET_SL,
// 3 VRESET_WL, drivers/neurram_top.py NODES) with a code at or below the ceiling the host loaded for that
// channel, and only in the first word of a group (slot 0: the word that ends in DAC 3; the other three
// slots must be no-ops). `ok` is combinational; the engine's push strobe is ANDed with it in the engine, so a word that
// fails never reaches the DAC FIFO, whatever the sequencer asked.

module wv_dac_guard(
	input wire [31:0] word,
	input wire [1:0] slot,
	input wire [15:0] lim_set_bl,
	input wire [15:0] lim_set_wl,
	input wire [15:0] lim_reset_sl,
	input wire [15:0] lim_reset_wl,
	output wire ok
	);
wire [3:0] cmd = word[23:20];
wire [3:0] ch = word[19:16];
wire [15:0] code = word[15:0];
reg [15:0] lim;
always @(*) begin
	case (ch)
		4'd0: lim = lim_set_bl;
		4'd1: lim = lim_set_wl;
		4'd2: lim = lim_reset_sl;
		4'd3: lim = lim_reset_wl;
		default: lim = 16'd0;
	endcase
end
wire is_nop = (cmd == 4'b1111);
wire is_wu = (cmd == 4'b0011) && (ch < 4'd4) && (slot == 2'd0);
assign ok = is_nop || (is_wu && (code <= lim) && (word[31:24] == 8'd0));
endmodule
