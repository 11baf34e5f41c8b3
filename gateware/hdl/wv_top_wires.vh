// neurram-lab gateware: nets of the write-verify engine inside neurram_top_wv (included by the patch,
// gateware/patch.py, right after the authors' okEHx declaration).
wire        wv_own;
wire [31:0] wv_dac_din;
wire        wv_dac_program, wv_dac_update;
wire        wv_ar_trigger, wv_ar_ack;
wire [15:0] wv_t_shld_init, wv_t_delta_init;
wire        wv_program_trigger, wv_program_ack;
wire [31:0] wv_pulse_width;
wire [1:0]  wv_vupdate_config;
wire        wv_clear;
wire [7:0]  wv_addr_local;
wire [1:0]  wv_select_write_reg;
wire        wv_ra_vert, wv_ra_trigger;
wire [2:0]  wv_addr_horz, wv_addr_vert;
wire        wv_dec_enable_horz, wv_dec_enable_vert;
wire        wv_ce_clk, wv_ce_in, wv_ce_reset;
