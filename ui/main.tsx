// The dashboard's entry: the styles (ours and uPlot's, bundled: nothing from another origin) and the app.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { App } from './app.js';

render(<App />, document.getElementById('app')!);
