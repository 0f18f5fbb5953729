/** The panel's icon: three rising bars and a trend line. */
import { LabIcon } from '@jupyterlab/ui-components';

import svgstr from '../style/icons/mlops.svg';

export const mlopsIcon = new LabIcon({ name: 'mlops-nb:panel', svgstr });
