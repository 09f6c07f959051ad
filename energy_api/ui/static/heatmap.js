/* view=heatmap and view=campus of the explorer: see explore.html. */
"use strict";
const energyHeatmap = { render: async () => {} };
