// The landing page: only the language switch.
import { setupLanguage } from './common.js';

setupLanguage();
