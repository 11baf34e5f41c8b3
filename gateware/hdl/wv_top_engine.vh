// neurram-lab gateware: the write-verify engine's endpoints, FIFOs and instance inside neurram_top_wv
// (included by the patch, gateware/patch.py, before the authors' endmodule). Endpoints no authors' top
// level uses: wire-ins 0x18-0x1A, wire-outs 0x23-0x27, trigger-in 0x46, pipe-in 0x82, pipe-out 0xA4.
wire [31:0] ep18wire; // SET ceilings: [15:0] VSET_BL code, [31:16] VSET_WL code
wire [31:0] ep19wire; // RESET ceilings: [15:0] VRESET_SL code, [31:16] VRESET_WL code
wire [31:0] ep1Awire; // pulse width ceiling (10 ns ticks) [23:0]
wire [31:0] ep46wire; // engine triggers: [0] start, [1] abort, [2] clear
wire [31:0] wv_diag_status, wv_diag_cells, wv_diag_pulses, wv_diag_cell, wv_diag_dac;
wire [31:0] ep82pipe, epA4pipe;
wire        ep82write, epA4read;

okWireIn     ep18 (.okHE(okHE),                              .ep_addr(8'h18), .ep_dataout(ep18wire));
okWireIn     ep19 (.okHE(okHE),                              .ep_addr(8'h19), .ep_dataout(ep19wire));
okWireIn     ep1A (.okHE(okHE),                              .ep_addr(8'h1a), .ep_dataout(ep1Awire));
okWireOut    ep23 (.okHE(okHE), .okEH(okEHx[ 12*65 +: 65 ]), .ep_addr(8'h23), .ep_datain(wv_diag_status));
okWireOut    ep24 (.okHE(okHE), .okEH(okEHx[ 13*65 +: 65 ]), .ep_addr(8'h24), .ep_datain(wv_diag_cells));
okWireOut    ep25 (.okHE(okHE), .okEH(okEHx[ 14*65 +: 65 ]), .ep_addr(8'h25), .ep_datain(wv_diag_pulses));
okWireOut    ep26 (.okHE(okHE), .okEH(okEHx[ 15*65 +: 65 ]), .ep_addr(8'h26), .ep_datain(wv_diag_cell));
okWireOut    ep27 (.okHE(okHE), .okEH(okEHx[ 16*65 +: 65 ]), .ep_addr(8'h27), .ep_datain(wv_diag_dac));
okTriggerIn  ti46 (.okHE(okHE),                              .ep_addr(8'h46), .ep_clk(sys_clk), .ep_trigger(ep46wire));
okPipeIn     pi82 (.okHE(okHE), .okEH(okEHx[ 17*65 +: 65 ]), .ep_addr(8'h82), .ep_dataout(ep82pipe), .ep_write(ep82write));
okPipeOut    poA4 (.okHE(okHE), .okEH(okEHx[ 18*65 +: 65 ]), .ep_addr(8'ha4), .ep_datain(epA4pipe), .ep_read(epA4read));

wire wv_rst = dac_rst | neurram_rst;
wire [31:0] wv_cmd_dout, wv_res_din;
wire wv_cmd_empty, wv_cmd_rd_en, wv_res_wr_en, wv_res_full;

// commands: okClk -> sys_clk, first-word fall-through (the core the authors' design already names)
FIFO32x2048FWFT wv_cmd_fifo(
	.wr_clk(okClk), .rd_clk(sys_clk), .rst(wv_rst),
	.din(ep82pipe), .wr_en(ep82write), .full(), .wr_ack(),
	.rd_en(wv_cmd_rd_en), .dout(wv_cmd_dout), .empty(wv_cmd_empty), .valid()
	);
// results: sys_clk -> okClk, standard read (the pipe-out takes each word the cycle after ep_read)
FIFO32x4096 wv_res_fifo(
	.wr_clk(sys_clk), .rd_clk(okClk), .rst(wv_rst),
	.din(wv_res_din), .wr_en(wv_res_wr_en), .full(wv_res_full), .wr_ack(),
	.rd_en(epA4read), .dout(epA4pipe), .empty(), .valid()
	);

wv_engine wv(
	.clk(sys_clk), .rst(wv_rst), .dac_clk(dac_clk), .adc_clk(adc_rram_clk), .spi_clk(spi_ctrl_clk),
	.wi_lim_set(ep18wire), .wi_lim_reset(ep19wire), .wi_lim_width(ep1Awire),
	.start(ep46wire[0]), .abort(ep46wire[1]), .clear(ep46wire[2]),
	.cmd_dout(wv_cmd_dout), .cmd_empty(wv_cmd_empty), .cmd_rd_en(wv_cmd_rd_en),
	.res_din(wv_res_din), .res_wr_en(wv_res_wr_en), .res_full(wv_res_full),
	.dac_din(wv_dac_din), .dac_program(wv_dac_program), .dac_update(wv_dac_update),
	.dac_fifo_full(dac_fifo_full), .dac_fifo_ack(dac_fifo_ack), .dac_fifo_empty(dac_fifo_empty),
	.dac_state_idle(dac_state_idle),
	.ar_trigger(wv_ar_trigger), .ar_ack(wv_ar_ack), .t_shld_init(wv_t_shld_init), .t_delta_init(wv_t_delta_init),
	.ar_valid(atrg_valid), .ar_dout1(atrg_dout1), .ar_dout2(atrg_dout2), .ar_t_shld(rram_t_shld),
	.ar_t_delta(rram_t_delta),
	.program_trigger(wv_program_trigger), .program_ack(wv_program_ack), .pulse_width(wv_pulse_width),
	.vupdate_config(wv_vupdate_config), .program_done(program_done),
	.clear_regs(wv_clear), .addr_local(wv_addr_local), .select_write_reg(wv_select_write_reg),
	.ra_vert(wv_ra_vert), .ra_trigger(wv_ra_trigger), .addr_horz(wv_addr_horz), .addr_vert(wv_addr_vert),
	.dec_enable_horz(wv_dec_enable_horz), .dec_enable_vert(wv_dec_enable_vert),
	.ce_clk(wv_ce_clk), .ce_in(wv_ce_in), .ce_reset(wv_ce_reset),
	.own(wv_own), .diag_status(wv_diag_status), .diag_cells(wv_diag_cells), .diag_pulses(wv_diag_pulses),
	.diag_cell(wv_diag_cell), .diag_dac(wv_diag_dac)
	);
