from trackerdcs.ph2acf_sim.main import main

main()
